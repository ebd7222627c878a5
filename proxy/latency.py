"""Latency-based rollback evidence: the service's p99 against the monolith's, with witnesses.

Each domain keeps, per backend, ten one-second rows of latency histogram counts (the
gateway's Prometheus buckets: time to the upstream's response head). Once a second per
domain, :meth:`LatencyWatch.verdict` compares the window's p99 of the service with the
monolith's: the rule trips when both have at least ``rollback_min_requests`` answers, the
service's p99 exceeds the flag's ``rollback_p99_percent`` % of the monolith's (0: the
gateway's ``PROXY_ROLLBACK_P99_PERCENT``; both 0: the rule is off), and the service
answers slower than that bound came from at least ``witnesses`` distinct callers — one
caller's expensive queries must not roll a migration back, as with errors
(:mod:`proxy.failures`). A p99 is the upper bound of the histogram bucket that holds it, so
the comparison is as coarse as the buckets (0.5 ms to 10 s, about a factor 2 apart).
"""

from __future__ import annotations

import math
from bisect import bisect_left

from proxy.metrics import LATENCY_BUCKETS

WINDOW_SECONDS = 10
BOUNDS = (*LATENCY_BUCKETS, math.inf)


class Histogram:
    """Answers per latency bucket over the last :data:`WINDOW_SECONDS` seconds."""

    __slots__ = ("rows", "seconds")

    def __init__(self) -> None:
        self.seconds = [0] * WINDOW_SECONDS
        self.rows = [[0] * len(BOUNDS) for _ in range(WINDOW_SECONDS)]

    def add(self, now: int, seconds: float) -> None:
        """Count one answer that took ``seconds`` at unix second ``now``."""
        i = now % WINDOW_SECONDS
        row = self.rows[i]
        if self.seconds[i] != now:
            self.seconds[i] = now
            row[:] = [0] * len(BOUNDS)
        row[bisect_left(BOUNDS, seconds)] += 1

    def p99(self, now: int) -> tuple[int, float]:
        """``(answers, p99 bucket bound)`` within the window ending at ``now`` (``(0, 0.0)`` empty)."""
        totals = [0] * len(BOUNDS)
        oldest = now - WINDOW_SECONDS
        for i in range(WINDOW_SECONDS):
            if self.seconds[i] > oldest:
                totals = [a + b for a, b in zip(totals, self.rows[i], strict=True)]
        count = sum(totals)
        if not count:
            return 0, 0.0
        rank, seen = math.ceil(count * 0.99), 0
        for bound, n in zip(BOUNDS, totals, strict=True):
            seen += n
            if seen >= rank:
                return count, bound
        return count, math.inf


class LatencyWatch:
    """Per domain: both backends' histograms, the current bound and the slow service callers."""

    def __init__(self, witnesses: int) -> None:
        self.witnesses = max(1, witnesses)
        self.histograms: dict[tuple[str, str], Histogram] = {}
        self.bounds: dict[str, float] = {}  # domain → seconds a service answer may take
        self.slow: dict[str, dict[str, int]] = {}  # domain → caller → second of its last slow answer
        self.checked: dict[str, int] = {}

    def add(self, domain: str, backend: str, seconds: float, now: int, caller: str) -> None:
        """Count one answered attempt."""
        histogram = self.histograms.get((domain, backend))
        if histogram is None:
            histogram = self.histograms[(domain, backend)] = Histogram()
        histogram.add(now, seconds)
        if backend == "service" and seconds > self.bounds.get(domain, math.inf):
            slow = self.slow.setdefault(domain, {})
            if caller in slow or len(slow) < 64:  # bounded: a few witnesses are enough
                slow[caller] = now

    def verdict(self, domain: str, now: int, min_requests: int, ratio: float) -> str | None:
        """At most once a second per domain: the rollback reason when the service's p99 exceeds
        ``ratio`` times the monolith's (``ratio`` 0: never), else ``None``."""
        if ratio <= 0 or self.checked.get(domain) == now:
            return None
        self.checked[domain] = now
        service, monolith = self.histograms.get((domain, "service")), self.histograms.get((domain, "monolith"))
        if service is None or monolith is None:
            return None
        (s_count, s_p99), (m_count, m_p99) = service.p99(now), monolith.p99(now)
        if m_count < max(1, min_requests):
            return None
        self.bounds[domain] = bound = ratio * m_p99
        slow = self.slow.get(domain, {})
        for caller in [c for c, second in slow.items() if second <= now - WINDOW_SECONDS]:
            del slow[caller]
        if s_count < max(1, min_requests) or s_p99 <= bound or len(slow) < self.witnesses:
            return None
        return (f"auto-rollback: service p99 {s_p99 * 1000:g} ms over {ratio:g} x the monolith's "
                f"{m_p99 * 1000:g} ms ({s_count} and {m_count} answers, {len(slow)} slow callers)")

    def clear(self, domain: str) -> None:
        """Forget ``domain`` (after a rollback)."""
        for backend in ("service", "monolith"):
            self.histograms.pop((domain, backend), None)
        self.bounds.pop(domain, None)
        self.slow.pop(domain, None)
