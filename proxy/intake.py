"""What the gateway takes from a client before it forwards anything: bounded, timed, counted.

A slow client must cost the gateway a coroutine, never an upstream worker. So:

* :func:`read_body` buffers the whole request body *before* an upstream connection is taken,
  up to ``MAX_BODY_BYTES`` (413 beyond, for declared and chunked bodies alike), within a
  total deadline (``PROXY_BODY_TIMEOUT_MS``) and at a minimum average rate
  (``PROXY_BODY_MIN_RATE`` bytes/s after a short grace) — 408 otherwise. The upstream then
  gets the body in one piece with its length, in milliseconds.
* :class:`ClientSlots` caps concurrent requests per client address and worker
  (``PROXY_MAX_CLIENT_CONCURRENCY``, 429 beyond), so one address cannot hold every slot.
  Provider callbacks (:attr:`proxy.policy.Rule.callback`) are exempt: they share a budget
  of their own (``PROXY_CALLBACK_CONCURRENCY``), so no client can crowd out a payment's
  settlement.
* :class:`HeadLimits` refuses a request target longer than ``PROXY_MAX_URL_BYTES`` (414) and
  a header longer than ``PROXY_MAX_HEADER_BYTES`` or more than :data:`MAX_HEADERS` headers
  (431), in JSON, below what the app servers behind accept (gunicorn: 4094-byte request
  line, 8190-byte header, 100 headers), so their own text error pages never show.

Header read time is bounded by the server (granian's ``http1_settings.header_read_timeout``,
``PROXY_HEADER_TIMEOUT_MS``), see ``proxy/__main__.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from kernel.settings import Settings
from proxy.types import Headers

#: Seconds before the minimum rate applies (connection set-up, first packet).
RATE_GRACE_SECONDS = 2.0
#: Most request headers accepted: gunicorn's 100 less the ones the gateway adds.
MAX_HEADERS = 90


class IntakeError(Exception):
    """The request cannot be accepted; answered with :attr:`status` and :attr:`message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """Size and time limits of one request body."""

    max_bytes: int
    total_seconds: float
    min_rate: float  # bytes per second, averaged from the start; 0 = no minimum

    @classmethod
    def from_settings(cls, settings: Settings) -> BodyLimits:
        """The limits configured in settings."""
        return cls(settings.max_body_bytes, settings.proxy_body_timeout_ms / 1000, float(settings.proxy_body_min_rate))

    def deadline(self, started: float, received: int) -> float:
        """When the next chunk must have arrived, having ``received`` bytes since ``started``.

        The earlier of the total deadline and the moment the average rate would fall below
        the minimum.
        """
        total = started + self.total_seconds
        if self.min_rate <= 0:
            return total
        return min(total, started + RATE_GRACE_SECONDS + received / self.min_rate)


@dataclass(frozen=True, slots=True)
class HeadLimits:
    """Size limits of the request line and headers."""

    max_url: int
    max_header: int

    @classmethod
    def from_settings(cls, settings: Settings) -> HeadLimits:
        """The limits configured in settings."""
        return cls(settings.proxy_max_url_bytes, settings.proxy_max_header_bytes)

    def refusal(self, path: str, query: str, headers: Headers) -> IntakeError | None:
        """Why a request with this target and these headers is refused, or ``None``."""
        if len(path) + len(query) > self.max_url:
            return IntakeError(414, f"request target longer than {self.max_url} bytes")
        if len(headers) > MAX_HEADERS:
            return IntakeError(431, f"more than {MAX_HEADERS} request headers")
        limit = self.max_header
        for name, value in headers:
            if len(name) + len(value) > limit:
                return IntakeError(431, f"request header {name[:64]!r} longer than {limit} bytes")
        return None


def declared_length(headers: Headers) -> int | None:
    """The ``Content-Length`` a request declares, ``None`` without one; :class:`IntakeError` if invalid."""
    for name, value in headers:
        if name == "content-length":
            value = value.strip()
            if not value.isascii() or not value.isdigit():
                raise IntakeError(400, "invalid Content-Length")
            return int(value)
    return None


async def read_body(body: AsyncIterator[bytes], headers: Headers, limits: BodyLimits) -> bytes:
    """The whole request body within ``limits``; :class:`IntakeError` (413, 408, 400) otherwise."""
    declared = declared_length(headers)
    if declared is not None and declared > limits.max_bytes:
        raise IntakeError(413, f"request body larger than {limits.max_bytes} bytes")
    loop = asyncio.get_running_loop()
    started = loop.time()
    parts: list[bytes] = []
    received = 0
    try:
        async with asyncio.timeout_at(limits.deadline(started, 0)) as window:
            async for chunk in body:
                received += len(chunk)
                if received > limits.max_bytes:
                    raise IntakeError(413, f"request body larger than {limits.max_bytes} bytes")
                parts.append(chunk)
                window.reschedule(limits.deadline(started, received))
    except TimeoutError:
        raise IntakeError(408, "request body not received in time") from None
    except ConnectionError:
        raise IntakeError(400, "client disconnected while sending the body") from None
    if declared is not None and received != declared:  # the server ended the body early: the client left
        raise IntakeError(400, "client disconnected while sending the body")
    return b"".join(parts)


#: How long, and how much, of a refused body is still read and dropped after the answer.
LINGER_SECONDS = 2.0
LINGER_BYTES = 16 * 1024 * 1024


async def linger(body: AsyncIterator[bytes]) -> None:
    """Read and drop what is left of a refused body, bounded in time and size.

    A server that closes while the client is still sending makes the client's TCP stack
    discard the answer (connection reset); reading on for a moment (nginx's lingering close)
    lets the client see its 413.
    """
    received = 0
    with contextlib.suppress(TimeoutError, ConnectionError):
        async with asyncio.timeout(LINGER_SECONDS):
            async for chunk in body:
                received += len(chunk)
                if received > LINGER_BYTES:
                    return


class ClientSlots:
    """Concurrent requests per client address in this worker, capped at ``limit`` (0 = no cap)."""

    __slots__ = ("active", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active: dict[str, int] = {}

    def acquire(self, client: str) -> bool:
        """Take a slot for ``client``; ``False`` when it already holds ``limit`` of them."""
        held = self.active.get(client, 0)
        if self.limit and held >= self.limit:
            return False
        self.active[client] = held + 1
        return True

    def release(self, client: str) -> None:
        """Give back a slot taken with :meth:`acquire`."""
        held = self.active[client] - 1
        if held:
            self.active[client] = held
        else:
            del self.active[client]
