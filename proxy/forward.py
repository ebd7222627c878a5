"""Forwarding: one shared aiohttp session per worker, header hygiene, timeouts.

Three small steps (as in asgiproxy): build upstream headers, send the request and get the
upstream response, convert its headers for the client. Bodies stream in both directions;
only responses with a small declared ``Content-Length`` are read in one piece (one write
to the client instead of several).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from yarl import URL

from proxy.retry import Failure
from proxy.types import Headers, Inbound

#: RFC 9110 §7.6.1 hop-by-hop headers (plus Proxy-* handled by prefix), never forwarded.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "trailers", "transfer-encoding", "upgrade",
})
#: Request headers the proxy sets itself.
REPLACED_REQUEST = frozenset({"host", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
                              "x-request-id", "x-user-id"})
SMALL_BODY = 256 * 1024


class UpstreamError(Exception):
    """The upstream could not be reached, did not answer in time, or broke its answer.

    ``failure`` says how far the request got (:class:`proxy.retry.Failure`), which decides
    whether it may be replayed on the monolith.
    """

    def __init__(self, status: int, message: str, failure: Failure = Failure.MAY_HAVE_REACHED) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.failure = failure


class ReplayableBody:
    """A request body that can be sent a second time (to the monolith after a failed attempt).

    Chunks are kept as the upstream client reads them, up to :data:`SMALL_BODY` bytes. The body
    is replayable when it was never read (the connection was never made) or was read in full
    within that limit; a larger body that was partly sent is not.
    """

    __slots__ = ("_chunks", "_data", "_done", "_size", "_source", "_started")

    def __init__(self, source: AsyncIterator[bytes] | None = None, data: bytes | None = None) -> None:
        self._source = source
        self._data = data
        self._chunks: list[bytes] | None = []
        self._size = 0
        self._started = False
        self._done = False

    @classmethod
    async def read_all(cls, source: AsyncIterator[bytes] | None, limit: int = SMALL_BODY) -> ReplayableBody | None:
        """The whole body buffered, or ``None`` when it exceeds ``limit`` bytes."""
        chunks: list[bytes] = []
        size = 0
        if source is not None:
            async for chunk in source:
                size += len(chunk)
                if size > limit:
                    return None
                chunks.append(chunk)
        return cls(data=b"".join(chunks))

    @property
    def data(self) -> bytes | None:
        """The buffered bytes when the whole body is in memory."""
        if self._data is None and self._done and self._chunks is not None:
            self._data = b"".join(self._chunks)
        return self._data

    @property
    def replayable(self) -> bool:
        """Whether :meth:`payload` can give the complete body again."""
        return self.data is not None or not self._started

    def payload(self) -> AsyncIterator[bytes] | bytes:
        """What to hand the client session for one attempt."""
        data = self.data
        if data is not None:
            return data
        if self._started:
            raise RuntimeError("request body partly sent and not buffered: cannot replay")
        return self._tee()

    async def _tee(self) -> AsyncIterator[bytes]:
        self._started = True
        async for chunk in self._source:
            if self._chunks is not None:
                self._size += len(chunk)
                if self._size <= SMALL_BODY:
                    self._chunks.append(chunk)
                else:
                    self._chunks = None
            yield chunk
        self._done = True


def make_session(connect_timeout: float, read_timeout: float) -> aiohttp.ClientSession:
    """The worker's shared client session: big keep-alive pool, cached DNS, no auto headers."""
    connector = aiohttp.TCPConnector(limit=2048, limit_per_host=1024, ttl_dns_cache=300,
                                     keepalive_timeout=60, enable_cleanup_closed=True)
    timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout, sock_connect=connect_timeout,
                                    sock_read=read_timeout)
    return aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False,
                                 skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                                 cookie_jar=aiohttp.DummyCookieJar(), read_bufsize=2**16)


def _connection_tokens(headers: Headers) -> frozenset[str]:
    """Header names listed in ``Connection`` (also hop-by-hop)."""
    tokens: set[str] = set()
    for name, value in headers:
        if name == "connection":
            tokens.update(t.strip().lower() for t in value.split(",") if t.strip())
    return frozenset(tokens)


def _is_hop(name: str, extra: frozenset[str]) -> bool:
    return name in HOP_BY_HOP or name.startswith("proxy-") or name in extra


def upstream_headers(request: Inbound, request_id: str, user_id: str | None) -> list[tuple[str, str]]:
    """Client headers minus hop-by-hop ones, plus ``X-Forwarded-*``, ``X-Request-Id``, ``X-User-Id``."""
    extra = _connection_tokens(request.headers)
    out: list[tuple[str, str]] = []
    forwarded_for = None
    host = None
    for name, value in request.headers:
        if name in REPLACED_REQUEST or _is_hop(name, extra):
            if name == "x-forwarded-for":
                forwarded_for = value
            elif name == "host":
                host = value
            continue
        out.append((name, value))
    client_ip = request.client
    out.append(("X-Forwarded-For", f"{forwarded_for}, {client_ip}" if forwarded_for else client_ip))
    out.append(("X-Forwarded-Proto", request.scheme))
    if host:
        out.append(("X-Forwarded-Host", host))
    out.append(("X-Request-Id", request_id))
    if user_id is not None:
        out.append(("X-User-Id", user_id))
    return out


#: Dropped from responses: hop-by-hop headers plus the two the proxy sets itself.
_DROP_RESPONSE = frozenset(name.encode() for name in HOP_BY_HOP) | {b"x-upstream", b"x-request-id"}


def client_headers(raw: tuple[tuple[bytes, bytes], ...]) -> Headers:
    """Upstream response headers minus hop-by-hop ones and ``X-Upstream``/``X-Request-Id`` (set by
    the proxy), as ``(lower name, value)`` strings."""
    extra: frozenset[bytes] = frozenset()
    for name, value in raw:
        if name.lower() == b"connection":
            extra = frozenset(t.strip().lower() for t in value.split(b",") if t.strip())
    out: Headers = []
    for name, value in raw:
        lower = name.lower()
        if lower in _DROP_RESPONSE or lower.startswith(b"proxy-") or lower in extra:
            continue
        out.append((lower.decode("latin-1"), value.decode("latin-1")))
    return out


async def send(session: aiohttp.ClientSession, method: str, url: str, headers: list[tuple[str, str]],
               body: AsyncIterator[bytes] | bytes | None) -> aiohttp.ClientResponse:
    """Send the request upstream; connection problems become :class:`UpstreamError` (502/504).

    A failure to connect (refused, unreachable, DNS, TLS handshake, connect timeout) is
    :attr:`Failure.NOT_SENT`: no connection existed, so no byte of the request was written.
    Anything after the connection existed is :attr:`Failure.MAY_HAVE_REACHED`.
    """
    try:
        # encoded=True: forward path and query byte for byte (no requoting by yarl).
        return await session.request(method, URL(url, encoded=True), headers=headers, data=body, allow_redirects=False,
                                     compress=None, chunked=None)
    except aiohttp.ConnectionTimeoutError:
        raise UpstreamError(504, "upstream connect timed out", Failure.NOT_SENT) from None
    except aiohttp.ClientConnectorError as exc:
        raise UpstreamError(502, f"upstream unavailable: {type(exc).__name__}", Failure.NOT_SENT) from None
    except TimeoutError:
        raise UpstreamError(504, "upstream timed out") from None
    except aiohttp.ClientError as exc:
        raise UpstreamError(502, f"upstream unavailable: {type(exc).__name__}") from None


async def read_small(response: aiohttp.ClientResponse) -> bytes | None:
    """The whole body when it is declared small (or empty), else ``None`` (stream it)."""
    length = response.content_length
    if response.method == "HEAD" or response.status in (204, 304):
        return b""
    if length is not None and length <= SMALL_BODY:
        try:
            return await response.read()
        except TimeoutError:
            raise UpstreamError(504, "upstream timed out", Failure.BODY_BROKEN) from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(502, f"upstream failed: {type(exc).__name__}", Failure.BODY_BROKEN) from None
    return None


async def first_chunk(response: aiohttp.ClientResponse) -> bytes:
    """The first piece of a streamed body (``b""`` when empty); a break is :attr:`Failure.BODY_BROKEN`."""
    try:
        return await response.content.readany()
    except TimeoutError:
        raise UpstreamError(504, "upstream timed out", Failure.BODY_BROKEN) from None
    except aiohttp.ClientError as exc:
        raise UpstreamError(502, f"upstream failed: {type(exc).__name__}", Failure.BODY_BROKEN) from None
