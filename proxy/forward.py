"""Forwarding: one shared pyreqwest client per worker, header hygiene, timeouts.

Three small steps (as in asgiproxy): build upstream headers, send the request and get the
upstream response, convert its headers for the client. Bodies stream in both directions;
only responses with a small declared ``Content-Length`` are read in one piece (one write
to the client instead of several).

The client is pyreqwest (Rust reqwest/hyper behind an asyncio API): the connection pool,
request writing and response parsing run outside the interpreter, which costs less CPU per
request than aiohttp (docs/data-plane.md). reqwest re-parses the URL (WHATWG rules: dot
segments resolved, some characters percent-encoded), so only the canonical path of
:mod:`proxy.target` — which has no dot segments and is already encoded — may be sent.
The shadow mirror (:mod:`proxy.shadow`) uses the same client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import timedelta

from pyreqwest.client import Client, ClientBuilder
from pyreqwest.exceptions import RequestError, RequestTimeoutError
from pyreqwest.request import StreamRequest
from pyreqwest.response import Response

from proxy.retry import Failure
from proxy.types import Headers, Inbound

#: RFC 9110 §7.6.1 hop-by-hop headers (plus Proxy-* handled by prefix), never forwarded.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "trailers", "transfer-encoding", "upgrade",
})
#: Request headers the proxy sets itself.
REPLACED_REQUEST = frozenset({"host", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
                              "x-request-id", "x-user-id", "x-user-role", "x-identity-signature"})
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


class UnsendableHeader(Exception):
    """A client header the upstream client refuses to write (an invalid name, a control character).

    The request is refused with 400 before any upstream is tried; it says nothing about the
    upstream's health.
    """


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


def make_client(connect_timeout: float, read_timeout: float, *, multithreaded_runtime: bool = False) -> Client:
    """The worker's shared forwarding client: big keep-alive pool, no redirects, no decoding.

    Build it inside the worker's running event loop. ``read_timeout`` bounds each read (as
    aiohttp's ``sock_read``), not the whole exchange, so long streamed bodies are fine.
    pyreqwest's one-thread runtime is the default; the multi-threaded one measured no cheaper
    (docs/data-plane.md).
    """
    return (ClientBuilder().runtime_multithreaded(multithreaded_runtime)
            .max_connections(2048).pool_max_idle_per_host(1024)
            .connect_timeout(timedelta(seconds=connect_timeout)).read_timeout(timedelta(seconds=read_timeout))
            .gzip(False).brotli(False).deflate(False).zstd(False).follow_redirects(False)
            .http1_only().tcp_nodelay(True).build())


#: Dropped from requests: hop-by-hop headers plus the ones the proxy sets itself.
_DROP_REQUEST = HOP_BY_HOP | REPLACED_REQUEST


def _without_listed(headers: Headers, connection: str | None) -> Headers:
    """``headers`` minus the names the ``Connection`` value(s) list (hop-by-hop for this
    connection only)."""
    if connection is None or connection in ("keep-alive", "close"):  # nearly every message
        return headers
    listed = {t.strip().lower() for t in connection.split(",")} - {"keep-alive", "close", ""}
    return [(name, value) for name, value in headers if name not in listed] if listed else headers


def upstream_headers(request: Inbound, request_id: str, user_id: str | None,
                     role: str | None = None, signature: str | None = None) -> list[tuple[str, str]]:
    """Client headers minus hop-by-hop ones (also those ``Connection`` names) and the identity
    headers a client may not set, plus ``X-Forwarded-*``, ``X-Request-Id`` and the verified
    ``X-User-Id``/``X-User-Role`` with their ``X-Identity-Signature`` (none for an anonymous
    caller; :mod:`kernel.signed_identity`).

    ``X-Forwarded-For`` is the one client address the gateway resolved
    (:mod:`proxy.clientaddr`), never a chain a client could have started.
    """
    out: list[tuple[str, str]] = []
    host = connection = None
    for name, value in request.headers:  # one pass: this runs on every request
        if name in _DROP_REQUEST or name.startswith("proxy-"):
            if name == "host":
                host = value
            elif name == "connection":
                connection = value if connection is None else f"{connection},{value}"
            continue
        out.append((name, value))
    out = _without_listed(out, connection)
    out.append(("X-Forwarded-For", request.client))
    out.append(("X-Forwarded-Proto", request.scheme))
    if host:
        out.append(("X-Forwarded-Host", host))
    out.append(("X-Request-Id", request_id))
    if user_id is not None:
        out.append(("X-User-Id", user_id))
    if role is not None:
        out.append(("X-User-Role", role))
    if signature is not None:
        out.append(("X-Identity-Signature", signature))
    return out


#: Dropped from responses: hop-by-hop headers, the two the proxy sets itself, and the upstream
#: server's banner (``Server: gunicorn/…`` tells an attacker what to look up).
_DROP_RESPONSE = HOP_BY_HOP | {"x-upstream", "x-request-id", "server", "x-powered-by"}


def client_headers(items: Iterable[tuple[str, str]]) -> Headers:
    """Upstream response headers minus hop-by-hop ones (also those ``Connection`` names) and
    ``X-Upstream``/``X-Request-Id`` (set by the proxy), as ``(lower name, value)`` strings.

    reqwest hands names lower-cased already (``http`` crate), so filtering needs no decoding.
    """
    out: Headers = []
    connection = None
    for name, value in items:
        if name in _DROP_RESPONSE or name.startswith("proxy-"):
            if name == "connection":
                connection = value if connection is None else f"{connection},{value}"
            continue
        out.append((name, value))
    return _without_listed(out, connection)


class Upstream:
    """One upstream exchange: the response head, its body reader, and the connection to release."""

    __slots__ = ("_request", "response", "status")

    def __init__(self, request: StreamRequest, response: Response) -> None:
        self._request = request
        self.response = response
        self.status = response.status

    def headers(self) -> Headers:
        """The response headers for the client (:func:`client_headers`).

        A value that is not visible ASCII cannot be read as ``str`` from pyreqwest: the answer
        is unusable (502; a read may be replayed, the client has seen nothing yet).
        """
        try:
            # list() first: stepping pyreqwest's items view between Python calls costs ~3x more
            return client_headers(list(self.response.headers.items()))
        except ValueError:
            raise UpstreamError(502, "upstream sent a header value that is not ASCII") from None

    async def release(self) -> None:
        """Give the connection back (or drop it when the body was not read to the end)."""
        await self._request.__aexit__(None, None, None)


#: The cause hyper's client reports when establishing the connection failed (refused,
#: unreachable, DNS, TLS, connect timeout) — and only then. pyreqwest's exception classes do not
#: say this: it raises ``ConnectTimeoutError`` for a read timeout after the request was written
#: and ``ConnectError`` for a connection closed after it (pinned version; tests/proxy checks both).
_CONNECT_CAUSE = "client error (Connect)"


def never_connected(exc: RequestError) -> bool:
    """Whether ``exc`` happened before any connection to the upstream existed."""
    details = getattr(exc, "details", None) or {}
    return any(cause.get("message") == _CONNECT_CAUSE for cause in details.get("causes", ()))


def _upstream_error(exc: RequestError, during: str, failure: Failure) -> UpstreamError:
    if isinstance(exc, RequestTimeoutError):
        return UpstreamError(504, "upstream timed out", failure)
    return UpstreamError(502, f"upstream {during}: {type(exc).__name__}", failure)


async def send(client: Client, method: str, url: str, headers: list[tuple[str, str]],
               body: AsyncIterator[bytes] | bytes | None) -> Upstream:
    """Send the request upstream; connection problems become :class:`UpstreamError` (502/504).

    A failure to connect (refused, unreachable, DNS, TLS handshake, connect timeout) is
    :attr:`Failure.NOT_SENT`: no connection existed, so no byte of the request was written.
    Anything after the connection existed is :attr:`Failure.MAY_HAVE_REACHED`.
    """
    try:
        builder = client.request(method, url).headers(headers)
    except ValueError as exc:  # the http crate's name/value checks; non-ASCII values go out as UTF-8
        raise UnsendableHeader(str(exc)) from None
    if isinstance(body, bytes):
        builder = builder.body_bytes(body)
    elif body is not None:
        builder = builder.body_stream(body)
    request = builder.build_streamed()
    try:
        response = await request.__aenter__()
    except RequestError as exc:
        if not never_connected(exc):
            raise _upstream_error(exc, "unavailable", Failure.MAY_HAVE_REACHED) from None
        if isinstance(exc, RequestTimeoutError):
            raise UpstreamError(504, "upstream connect timed out", Failure.NOT_SENT) from None
        raise UpstreamError(502, f"upstream unavailable: {type(exc).__name__}", Failure.NOT_SENT) from None
    return Upstream(request, response)


async def read_small(upstream: Upstream, method: str) -> bytes | None:
    """The whole body when it is declared small (or empty), else ``None`` (stream it)."""
    if method == "HEAD" or upstream.status in (204, 304):
        return b""
    length = upstream.response.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) <= SMALL_BODY:
        try:
            return bytes(await upstream.response.body_reader.bytes())
        except RequestError as exc:
            raise _upstream_error(exc, "failed", Failure.BODY_BROKEN) from None
    return None


async def first_chunk(upstream: Upstream) -> bytes:
    """The first piece of a streamed body (``b""`` when empty); a break is :attr:`Failure.BODY_BROKEN`."""
    try:
        chunk = await upstream.response.body_reader.read_chunk()
    except RequestError as exc:
        raise _upstream_error(exc, "failed", Failure.BODY_BROKEN) from None
    return b"" if chunk is None else bytes(chunk)


async def rest(upstream: Upstream) -> AsyncIterator[bytes]:
    """The remaining chunks of a streamed body; a break raises ``RequestError`` (logged by the caller)."""
    reader = upstream.response.body_reader
    while (chunk := await reader.read_chunk()) is not None:
        yield bytes(chunk)
