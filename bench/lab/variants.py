"""Gateway variants for side-by-side experiments, served by ``bench.lab.serve --app …``.

Each variant changes one thing of :class:`proxy.gateway.Gateway` (a subclass overriding only
that), so a difference in the experiments is that thing's:

* ``reqwest_mt`` — pyreqwest on a multi-threaded Tokio runtime (the gateway uses one thread);
* ``per_request_metrics`` — Prometheus written on every request (the recorder before
  per-tick batching); ``per_second_metrics`` — written once a second; ``no_metrics`` — no
  request metrics, chart or gate counters at all;
* ``gc_default`` / ``gc_off`` — the cyclic collector at CPython's defaults / off;
* ``static_floor``, ``reqwest_floor``, ``reqwest_streamed_floor`` — no gateway at all
  (:class:`Floor`): what granian + one Python call costs, and a bare forward through
  pyreqwest (one-piece and streamed, as the gateway calls it).

The aiohttp-forwarding gateway measured before the switch to pyreqwest is in git history
(docs/data-plane.md, "Forwarding through pyreqwest", has its figures).
"""

from __future__ import annotations

import asyncio
from typing import Any

from pyreqwest.client import ClientBuilder

from proxy import forward, metrics
from proxy.gateway import Gateway
from proxy.rsgi import RsgiProxy


class MultiThreadRuntimeGateway(Gateway):
    """The gateway with pyreqwest on a multi-threaded Tokio runtime (the default is one thread)."""

    async def startup(self) -> None:
        """Start, then swap the client for one on the multi-threaded runtime."""
        await super().startup()
        await self.client.close()
        s = self.settings
        self.client = forward.make_client(s.proxy_connect_timeout_ms / 1000, s.proxy_read_timeout_ms / 1000,
                                          multithreaded_runtime=True)
        self.shadower.client = self.client


class VariantProxy(RsgiProxy):
    """:class:`RsgiProxy` building a given gateway class."""

    def __init__(self, gateway_class: type[Gateway]) -> None:
        super().__init__()
        self.gateway_class = gateway_class

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        from kernel.settings import get_settings

        self.gateway = self.gateway_class(get_settings())
        loop.run_until_complete(self.gateway.startup())


reqwest_mt = VariantProxy(MultiThreadRuntimeGateway)


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
    request); ``"reqwest"``/``"reqwest-streamed"`` forward to ``MONOLITH_URL`` with nothing else (no
    routing, auth, metrics or header filtering).
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.base = ""
        self.client: Any = None

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.run_until_complete(self._start())

    async def _start(self) -> None:
        from kernel.settings import get_settings

        self.base = get_settings().monolith_url.rstrip("/")
        if self.mode.startswith("reqwest"):
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
        elif self.mode == "reqwest-streamed":  # the gateway's calls: streamed request, body read, release
            request = self.client.get(self.base + scope.path).build_streamed()
            response = await request.__aenter__()
            try:
                body = bytes(await response.body_reader.bytes())
                protocol.response_bytes(response.status, forward.client_headers(list(response.headers.items())), body)
            finally:
                await request.__aexit__(None, None, None)
        else:
            response = await self.client.get(self.base + scope.path).build().send()
            protocol.response_bytes(response.status, forward.client_headers(list(response.headers.items())),
                                    bytes(await response.bytes()))


_BODY = b"x" * 1011
static_floor = Floor("static")
reqwest_floor = Floor("reqwest")
reqwest_streamed_floor = Floor("reqwest-streamed")


class GcDefaultGateway(Gateway):
    """The gateway with CPython's default collector thresholds (no freeze, 700/10/10)."""

    async def startup(self) -> None:
        """Start, then undo the gateway's collector tuning."""
        await super().startup()
        import gc

        gc.unfreeze()
        gc.set_threshold(700, 10, 10)


class GcOffGateway(Gateway):
    """The gateway with the cyclic collector off (measurement only: memory grows)."""

    async def startup(self) -> None:
        """Start, then disable the collector."""
        await super().startup()
        import gc

        gc.disable()


class SilentRecorder(metrics.Recorder):
    """Counts nothing: what the metrics path costs."""

    def request(self, domain: str, backend: str, status: int, seconds: float, now: int) -> None:
        """Drop it."""

    def count(self, now: int, field: str) -> None:
        """Drop it."""


class NoMetricsGateway(Gateway):
    """The gateway without request metrics, chart or gate counters."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.recorder = SilentRecorder()


gc_default = VariantProxy(GcDefaultGateway)
gc_off = VariantProxy(GcOffGateway)
no_metrics = VariantProxy(NoMetricsGateway)


class PerSecondRecorder(metrics.Recorder):
    """Prometheus series written once a second instead of once per loop tick."""

    def _schedule_flush(self) -> None:
        self._flush_scheduled = True
        asyncio.get_running_loop().call_later(1.0, self.flush_prometheus)


class PerSecondMetricsGateway(Gateway):
    """The gateway with :class:`PerSecondRecorder`."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.recorder = PerSecondRecorder()


per_second_metrics = VariantProxy(PerSecondMetricsGateway)
