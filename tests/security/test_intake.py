"""Body intake and per-address slots (pure, with fake bodies on a real event loop)."""

from __future__ import annotations

import asyncio

import pytest

from proxy.intake import RATE_GRACE_SECONDS, BodyLimits, ClientSlots, IntakeError, declared_length, read_body

LIMITS = BodyLimits(max_bytes=1000, total_seconds=1.0, min_rate=0)


async def _chunks(*parts: bytes, pause: float = 0.0):
    for part in parts:
        if pause:
            await asyncio.sleep(pause)  # a slow client, not test synchronisation
        yield part


def _read(body, headers=(), limits=LIMITS) -> bytes:
    return asyncio.run(read_body(body, list(headers), limits))


def _refusal(body, headers=(), limits=LIMITS) -> IntakeError:
    with pytest.raises(IntakeError) as refused:
        _read(body, headers, limits)
    return refused.value


def test_whole_body_is_buffered():
    assert _read(_chunks(b"ab", b"cd", b"e")) == b"abcde"


def test_declared_length_over_the_limit_is_refused_before_reading():
    async def never():
        raise AssertionError("body read although the declared length was too large")
        yield b""  # pragma: no cover

    refused = _refusal(never(), [("content-length", "1001")])
    assert refused.status == 413


def test_chunked_body_over_the_limit_is_refused():
    refused = _refusal(_chunks(*[b"x" * 300] * 4))
    assert refused.status == 413 and "1000 bytes" in refused.message


def test_body_that_takes_too_long_in_total_is_refused():
    limits = BodyLimits(max_bytes=1000, total_seconds=0.2, min_rate=0)
    refused = _refusal(_chunks(*[b"x"] * 50, pause=0.01), limits=limits)
    assert refused.status == 408


def test_body_below_the_minimum_rate_is_refused_after_the_grace():
    limits = BodyLimits(max_bytes=10_000, total_seconds=60, min_rate=1000)
    # the deadline for the next chunk moves with what has arrived
    assert limits.deadline(100.0, 0) == 100.0 + RATE_GRACE_SECONDS
    assert limits.deadline(100.0, 3000) == 100.0 + RATE_GRACE_SECONDS + 3.0
    assert BodyLimits(10, 5.0, 1000).deadline(100.0, 10**9) == 105.0


def test_invalid_content_length_is_a_400():
    for value in ("-1", "1e3", "ten", "١٢"):
        with pytest.raises(IntakeError) as refused:
            declared_length([("content-length", value)])
        assert refused.value.status == 400
    assert declared_length([("content-length", " 12 ")]) == 12 and declared_length([]) is None


def test_client_disconnect_is_a_400():
    async def broken():
        yield b"x"
        raise ConnectionResetError

    assert _refusal(broken()).status == 400


def test_body_shorter_than_declared_is_a_400():
    # a server that ends the body early (the client went away) must not yield a short body
    assert _refusal(_chunks(b"{"), [("content-length", "64")]).status == 400


def test_slots_cap_each_address_independently():
    slots = ClientSlots(2)
    assert slots.acquire("a") and slots.acquire("a") and not slots.acquire("a")
    assert slots.acquire("b")
    slots.release("a")
    assert slots.acquire("a")
    for _ in range(2):
        slots.release("a")
    slots.release("b")
    assert slots.active == {}
    unlimited = ClientSlots(0)
    assert all(unlimited.acquire("a") for _ in range(1000))


def test_linger_reads_on_but_is_bounded(monkeypatch):
    from proxy import intake

    monkeypatch.setattr(intake, "LINGER_SECONDS", 0.2)
    monkeypatch.setattr(intake, "LINGER_BYTES", 10_000)
    pulled = []

    async def endless():
        while True:
            pulled.append(1000)
            yield b"x" * 1000

    async def stalled():
        yield b"x"
        await asyncio.Event().wait()  # a client that stopped sending
        yield b""  # pragma: no cover

    asyncio.run(intake.linger(endless()))
    assert sum(pulled) == 11_000  # stopped right after the byte bound
    started = asyncio.run(_timed(intake.linger(stalled())))
    assert 0.15 < started < 1.0  # stopped by the time bound


async def _timed(coro) -> float:
    loop = asyncio.get_running_loop()
    begin = loop.time()
    await coro
    return loop.time() - begin
