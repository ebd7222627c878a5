"""Proxy metrics: Prometheus series and the per-second Redis counters behind the console chart.

Prometheus: when ``python -m proxy`` runs several workers it points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory under ``RUN_DIR`` before the workers start,
so ``GET /metrics`` on any worker returns the sum over all workers (prometheus-client
multiprocess mode). Run in-process (tests, one worker) the default registry is used.

Batching: the hot path only bumps plain dicts; the Prometheus series (memory-mapped files
behind a lock in multiprocess mode, three writes per request) are written once per event-loop
tick (``loop.call_soon``), so responses finished in the same loop iteration cost one write per
series. Nothing is lost or delayed past the current iteration (measured in
``bench/lab/experiments.py metrics``).

Redis: for each request the console's chart needs ``HINCRBY traffic:<unix second>
<domain>:<backend>:<ok|err> 1`` with ``EXPIRE 600``. Counts are aggregated in memory on the
hot path (a dict increment) and flushed by a background task once a second in one pipeline;
a Redis outage drops those counts and is logged, it never slows requests down.
"""

from __future__ import annotations

import asyncio
import math
from bisect import bisect_left
from collections import defaultdict

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

from proxy.flusher import RedisFlusher

TRAFFIC_TTL = 600
LABELS = ("domain", "backend", "status")

REQUESTS = Counter("proxy_requests", "Requests answered, by domain, backend and status class", LABELS)
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
LATENCY = Histogram("proxy_request_duration_seconds", "Time to the upstream's response headers",
                    ("domain", "backend"), buckets=LATENCY_BUCKETS)
#: Upper bounds as the histogram keeps them (``+Inf`` last): ``le`` is inclusive, hence ``bisect_left``.
_BOUNDS = (*LATENCY_BUCKETS, math.inf)
UPSTREAM_ERRORS = Counter("proxy_upstream_errors", "Connect errors, timeouts and 5xx by domain and backend",
                          ("domain", "backend"))
FALLBACKS = Counter("proxy_fallbacks", "Idempotent requests retried on the monolith after a service failure",
                    ("domain",))
ROLLBACKS = Counter("proxy_auto_rollbacks", "Automatic rollbacks to the monolith", ("domain",))
#: ``kind``: the most serious difference of a mismatch (``strangler.shadow_diff.KINDS``), ``none`` otherwise.
SHADOW = Counter("proxy_shadow_comparisons", "Shadowed GETs by result (match/mismatch/error) and difference kind",
                 ("domain", "result", "kind"))
AUTH_FAILURES = Counter("proxy_auth_failures", "Requests refused with 401", ())
PINNED = Counter("proxy_pinned_requests", "Requests carrying X-Route-To, by domain, target and outcome "
                 "(honoured for admin/service/tester tokens, else ignored)", ("domain", "backend", "result"))


class Recorder:
    """Hot-path counters: dict increments per request, Prometheus writes once per loop tick,
    plus the Redis per-second aggregate."""

    def __init__(self) -> None:
        self._requests: dict[tuple[str, str, int], Counter] = {}
        self._latency: dict[tuple[str, str], Histogram] = {}
        self._counts: dict[tuple[str, str, int], int] = {}
        self._observed: dict[tuple[str, str], list[float]] = {}
        self._flush_scheduled = False
        self._pending: defaultdict[int, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))

    def request(self, domain: str, backend: str, status: int, seconds: float, now: int) -> None:
        """Count one answered request (``backend`` is ``monolith`` or ``service``) at unix second ``now``."""
        cls = status // 100
        key = (domain, backend, cls)
        counts = self._counts
        counts[key] = counts.get(key, 0) + 1
        observed = self._observed.get((domain, backend))
        if observed is None:
            observed = self._observed[(domain, backend)] = []
        observed.append(seconds)
        self._pending[now][f"{domain}:{backend}:{'ok' if cls < 5 else 'err'}"] += 1
        if not self._flush_scheduled:
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called outside a loop (scripts, unit tests): write at once
            self.flush_prometheus()
            return
        self._flush_scheduled = True
        loop.call_soon(self.flush_prometheus)

    def flush_prometheus(self) -> None:
        """Write the counts gathered since the last flush to the Prometheus series."""
        self._flush_scheduled = False
        counts, self._counts = self._counts, {}
        observed, self._observed = self._observed, {}
        for (domain, backend, cls), n in counts.items():
            child = self._requests.get((domain, backend, cls))
            if child is None:
                child = self._requests[(domain, backend, cls)] = REQUESTS.labels(domain, backend, f"{cls}xx")
            child.inc(n)
        for (domain, backend), seconds in observed.items():
            hist = self._latency.get((domain, backend))
            if hist is None:
                hist = self._latency[(domain, backend)] = LATENCY.labels(domain, backend)
            _observe_many(hist, seconds)

    def traffic(self, domain: str, backend: str, ok: bool, now: int) -> None:
        """Count one attempt for the console chart (flushed to Redis every second)."""
        self._pending[now][f"{domain}:{backend}:{'ok' if ok else 'err'}"] += 1

    def count(self, now: int, field: str) -> None:
        """Count one event under hash field ``field`` of second ``now`` (rollout gate counters)."""
        self._pending[now][field] += 1

    def upstream_error(self, domain: str, backend: str) -> None:
        """Count a failed attempt (connect error, timeout, 5xx)."""
        UPSTREAM_ERRORS.labels(domain, backend).inc()

    def take_pending(self) -> dict[int, dict[str, int]]:
        """Swap out the aggregated per-second counts."""
        pending, self._pending = self._pending, defaultdict(lambda: defaultdict(int))
        return pending


def _observe_many(hist: Histogram, amounts: list[float]) -> None:
    """``hist.observe`` for each amount, with one write per touched bucket and one for the sum.

    Uses the child's value cells (``_sum``, ``_buckets``) as ``Histogram.observe`` does; the
    exposition is identical (tested against ``observe``), prometheus-client is pinned.
    """
    if len(amounts) == 1:
        hist.observe(amounts[0])
        return
    per_bucket = [0] * len(_BOUNDS)
    for amount in amounts:
        per_bucket[bisect_left(_BOUNDS, amount)] += 1
    hist._sum.inc(math.fsum(amounts))
    cells = hist._buckets
    for i, n in enumerate(per_bucket):
        if n:
            cells[i].inc(n)


class TrafficFlusher(RedisFlusher):
    """Background task writing :meth:`Recorder.take_pending` to Redis once a second."""

    name = "traffic counters"

    def __init__(self, recorder: Recorder, redis_url: str, interval: float = 1.0) -> None:
        super().__init__(redis_url, interval)
        self.recorder = recorder

    async def flush(self) -> None:
        """Write the pending counts in one pipeline."""
        pending = self.recorder.take_pending()
        if not pending:
            return
        pipe = self.redis.pipeline(transaction=False)
        for second, fields in pending.items():
            key = f"traffic:{second}"
            for name, count in fields.items():
                pipe.hincrby(key, name, count)
            pipe.expire(key, TRAFFIC_TTL)
        await pipe.execute()



def render() -> tuple[bytes, str]:
    """The Prometheus exposition (summed over workers in multiprocess mode) and its content type."""
    if values.ValueClass is not values.MutexValue:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
