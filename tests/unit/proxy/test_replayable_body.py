"""Request bodies the gateway can send twice, and Idempotency-Key naming (pure)."""

from __future__ import annotations

import asyncio

import pytest

from proxy import forward, idempotency


async def _chunks(*parts: bytes):
    for part in parts:
        yield part


async def _drain(payload) -> bytes:
    if isinstance(payload, bytes):
        return payload
    return b"".join([chunk async for chunk in payload])


def test_an_unread_body_is_replayable_and_a_fully_read_small_one_too():
    async def run():
        body = forward.ReplayableBody(_chunks(b"ab", b"cd"))
        assert body.replayable
        first = await _drain(body.payload())
        assert first == b"abcd" and body.replayable
        assert await _drain(body.payload()) == b"abcd"
    asyncio.run(run())


def test_a_large_partly_sent_body_is_not_replayable():
    async def run():
        big = b"x" * (forward.SMALL_BODY + 1)
        body = forward.ReplayableBody(_chunks(big))
        payload = body.payload()
        await payload.__anext__()
        assert not body.replayable
        with pytest.raises(RuntimeError):
            body.payload()
    asyncio.run(run())


def test_read_all_buffers_small_bodies_and_refuses_large_ones():
    async def run():
        assert (await forward.ReplayableBody.read_all(_chunks(b"{}"))).data == b"{}"
        assert (await forward.ReplayableBody.read_all(None)).data == b""
        assert await forward.ReplayableBody.read_all(_chunks(b"x" * 11), limit=10) is None
    asyncio.run(run())


def test_keys_are_per_caller_and_bad_keys_are_refused():
    assert idempotency.redis_key("1", "k") != idempotency.redis_key("2", "k")
    assert idempotency.redis_key("1", "k") == idempotency.redis_key("1", "k")
    for bad in ("", "x" * 256, "a\nb"):
        with pytest.raises(idempotency.KeyError400):
            idempotency.redis_key("1", bad)


def test_fingerprint_tells_different_requests_apart():
    base = idempotency.fingerprint("POST", "/api/movies", b"{}")
    assert base == idempotency.fingerprint("POST", "/api/movies", b"{}")
    assert base != idempotency.fingerprint("POST", "/api/movies", b"{ }")
    assert base != idempotency.fingerprint("POST", "/api/payments", b"{}")
