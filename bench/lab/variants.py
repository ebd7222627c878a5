"""Gateway variants for side-by-side experiments, served by ``bench.lab.serve --app …``.

* ``bench.lab.variants:reqwest`` — forwarding through pyreqwest (Rust reqwest/hyper behind a
  Python API) instead of aiohttp. Same routing, metrics, error windows, fallback and streaming
  as :class:`proxy.gateway.Gateway`; only the client differs. It copies ``_route``/``_respond``
  of the gateway as measured (commit 810aa17, before this round's retry and idempotency
  work): a measurement, not a second implementation to maintain. The gateway itself now
  forwards through pyreqwest (``proxy/forward.py``); this variant stays as the record of the
  measurement.
* ``bench.lab.variants:reqwest_mt`` — the same with reqwest on a multi-threaded Tokio runtime.
* ``bench.lab.variants:per_request_metrics`` — Prometheus written on every request (the
  recorder before per-tick batching), to measure what batching saves.
* ``static_floor``, ``aiohttp_floor``, ``reqwest_floor`` — no gateway at all (:class:`Floor`):
  what granian + one Python call, and a bare forward with each client, cost.

``pyreqwest`` is a project dependency (the gateway's forwarding client).
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import timedelta
from typing import Any

from pyreqwest.client import ClientBuilder
from pyreqwest.exceptions import RequestTimeoutError, TransportError

from proxy import forward, metrics
from proxy.gateway import Gateway
from proxy.routing import Flag
from proxy.rsgi import RsgiProxy
from proxy.types import Headers, Inbound, Responder

_DROP = frozenset(forward.HOP_BY_HOP) | {"x-upstream", "x-request-id"}
IDEMPOTENT = frozenset({"GET", "HEAD"})


def _client_headers(items: Any) -> Headers:
    """reqwest already lower-cases names (``http`` crate): drop hop-by-hop and the proxy's own."""
    extra: frozenset[str] = frozenset()
    out: Headers = []
    for name, value in items:
        if name == "connection":
            extra = frozenset(t.strip().lower() for t in value.split(","))
        if name in _DROP or name.startswith("proxy-"):
            continue
        out.append((name, value))
    if extra:
        out = [(n, v) for n, v in out if n not in extra]
    return out


class ReqwestGateway(Gateway):
    """:class:`Gateway` forwarding through one shared pyreqwest client per worker."""

    multithreaded = False

    async def startup(self) -> None:
        """Replace the gateway's reqwest client by one with this variant's runtime choice."""
        await super().startup()
        await self.client.close()
        s = self.settings
        self.client = (ClientBuilder().runtime_multithreaded(self.multithreaded)
                       .max_connections(2048).pool_max_idle_per_host(1024)
                       .connect_timeout(timedelta(milliseconds=s.proxy_connect_timeout_ms))
                       .read_timeout(timedelta(milliseconds=s.proxy_read_timeout_ms))
                       .gzip(False).follow_redirects(False).http1_only().tcp_nodelay(True).build())

    async def _send(self, method: str, url: str, headers: Headers, body: Any) -> Any:
        builder = self.client.request(method, url).headers(headers)
        if body is not None:
            builder = builder.body_stream(body)
        request = builder.build_streamed()
        try:
            response = await request.__aenter__()
        except RequestTimeoutError:
            raise forward.UpstreamError(504, "upstream timed out") from None
        except TransportError as exc:
            raise forward.UpstreamError(502, f"upstream unavailable: {type(exc).__name__}") from None
        return request, response

    async def _route(self, request: Inbound, out: Responder, route: str, user_id: str | None,
                     request_id: str) -> None:
        flag: Flag | None = self.cache.table.flags.get(route)
        if flag is not None:
            to_service = flag.wants_service(user_id, request.header("x-user-id"), request.client)
        else:
            to_service = route == "events"
        target = route if to_service else "monolith"
        base = self.upstreams.services[route] if to_service else self.upstreams.monolith
        suffix = f"{request.path}?{request.query}" if request.query else request.path
        headers = forward.upstream_headers(request, request_id, user_id)
        backend = "service" if to_service else "monolith"
        can_fall_back = (to_service and flag is not None and flag.fallback
                         and request.method in IDEMPOTENT and request.body is None)
        started = time.perf_counter()
        try:
            sent, response = await self._send(request.method, base + suffix, headers, request.body)
            if can_fall_back and response.status >= 500:
                await sent.__aexit__(None, None, None)
                raise forward.UpstreamError(502, f"service answered {response.status}")
        except forward.UpstreamError as exc:
            self._failed(route, backend, flag)
            if not can_fall_back:
                self.recorder.request(route, backend, exc.status, time.perf_counter() - started, int(time.time()))
                return await self._error(out, exc.status, exc.message, request_id, target)
            metrics.FALLBACKS.labels(route).inc()
            target, backend, base = "monolith", "monolith", self.upstreams.monolith
            started = time.perf_counter()
            try:
                sent, response = await self._send(request.method, base + suffix, headers, None)
            except forward.UpstreamError as exc2:
                self._failed(route, backend, flag)
                self.recorder.request(route, backend, exc2.status, time.perf_counter() - started,
                                      int(time.time()))
                return await self._error(out, exc2.status, exc2.message, request_id, target)
        try:
            await self._respond_reqwest(request, out, response, route, backend, target, flag, request_id,
                                        started, suffix, headers)
        finally:
            await sent.__aexit__(None, None, None)

    async def _respond_reqwest(self, request: Inbound, out: Responder, response: Any, route: str, backend: str,
                               target: str, flag: Flag | None, request_id: str, started: float, suffix: str,
                               headers: Headers) -> None:
        status = response.status
        error = status >= 500
        now = int(time.time())
        self.recorder.request(route, backend, status, time.perf_counter() - started, now)
        if error:
            self.recorder.upstream_error(route, backend)
        self.rollbacks.record(route, backend, error, now, flag)
        out_headers = _client_headers(response.headers.items())
        out_headers.append(("x-upstream", target))
        out_headers.append(("x-request-id", request_id))
        length = response.headers.get("content-length")
        reader = response.body_reader
        try:
            if request.method == "HEAD" or status in (204, 304) or \
                    (length is not None and int(length) <= forward.SMALL_BODY):
                body = bytes(await reader.bytes()) if request.method != "HEAD" else b""
                await out.full(status, out_headers, body)
                if flag is not None and flag.shadow_percent and request.method == "GET" \
                        and random.randrange(100) < flag.shadow_percent:
                    self._shadow(route, backend, suffix, headers, status, body)
                return
            await out.start(status, out_headers)
            while (chunk := await reader.read_chunk()) is not None:
                await out.chunk(bytes(chunk))
            await out.finish()
        except RequestTimeoutError:
            await self._error(out, 504, "upstream timed out", request_id, target)
        except TransportError as exc:
            await self._error(out, 502, f"upstream failed: {type(exc).__name__}", request_id, target)


class ReqwestMtGateway(ReqwestGateway):
    """reqwest on a multi-threaded Tokio runtime."""

    multithreaded = True


class VariantProxy(RsgiProxy):
    """:class:`RsgiProxy` building a given gateway class."""

    def __init__(self, gateway_class: type[Gateway]) -> None:
        super().__init__()
        self.gateway_class = gateway_class

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        from domain_services.shared.settings import get_settings

        self.gateway = self.gateway_class(get_settings())
        loop.run_until_complete(self.gateway.startup())


reqwest = VariantProxy(ReqwestGateway)
reqwest_mt = VariantProxy(ReqwestMtGateway)


class PerRequestRecorder(metrics.Recorder):
    """The recorder before batching: three Prometheus writes on every request (reference)."""

    def request(self, domain: str, backend: str, status: int, seconds: float, now: int) -> None:
        """Count one answered request, writing the Prometheus series at once."""
        cls = status // 100
        child = self._requests.get((domain, backend, cls))
        if child is None:
            child = self._requests[(domain, backend, cls)] = metrics.REQUESTS.labels(domain, backend, f"{cls}xx")
        child.inc()
        hist = self._latency.get((domain, backend))
        if hist is None:
            hist = self._latency[(domain, backend)] = metrics.LATENCY.labels(domain, backend)
        hist.observe(seconds)
        self.traffic(domain, backend, cls < 5, now)


class PerRequestMetricsGateway(Gateway):
    """The gateway with :class:`PerRequestRecorder`."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.recorder = PerRequestRecorder()


per_request_metrics = VariantProxy(PerRequestMetricsGateway)


class Floor:
    """Not a gateway: the least an RSGI app can do, to find the ceiling of this stack.

    ``mode="static"`` answers the benchmark's 1 KB body itself (granian + one Python call per
    request); ``"aiohttp"``/``"reqwest"`` forward to ``MONOLITH_URL`` with nothing else (no
    routing, auth, metrics or header filtering).
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.base = ""
        self.client: Any = None

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.run_until_complete(self._start())

    async def _start(self) -> None:
        from domain_services.shared.settings import get_settings

        self.base = get_settings().monolith_url.rstrip("/")
        if self.mode == "aiohttp":
            self.client = forward.make_session(2, 30)
        elif self.mode == "reqwest":
            self.client = ClientBuilder().max_connections(2048).pool_max_idle_per_host(1024).build()

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.client is not None:
            loop.run_until_complete(self.client.close())

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.path == "/health":  # the harness waits for the movies flag in the health document
            body = b'{"flags": {"movies": {"mode": "gradual"}}}'
            protocol.response_bytes(200, [("content-type", "application/json")], body)
        elif self.mode == "static":
            protocol.response_bytes(200, [("content-type", "application/json")], _BODY)
        elif self.mode == "aiohttp":
            async with self.client.get(self.base + scope.path) as response:
                body = await response.read()
                protocol.response_bytes(response.status, forward.client_headers(response.raw_headers), body)
        else:
            response = await self.client.get(self.base + scope.path).build().send()
            protocol.response_bytes(response.status, _client_headers(response.headers.items()),
                                    bytes(await response.bytes()))


_BODY = b"x" * 1011
static_floor = Floor("static")
aiohttp_floor = Floor("aiohttp")
reqwest_floor = Floor("reqwest")
