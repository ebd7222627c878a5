"""The proxy's live counters in Redis, shaped for the dashboard chart and the rollout cards.

The proxy increments hash ``traffic:<unix second>`` fields ``<route>:<backend>:<ok|err>``
(TTL 600 s), where ``route`` is a domain name or ``monolith`` for paths outside every domain
(``proxy.routing.route_of``). This module reads the last ``window`` complete seconds in one
pipeline; the chart shows the ``monolith`` route as "other".
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from control_plane.clients import redis_client
from kernel.registry import DOMAINS as DOMAIN_LIST
from kernel.registry import FLAGGED

BACKENDS = ("monolith", "service")
#: The route the gateway counts for paths outside every domain.
UNROUTED = "monolith"
# Chart series: the flagged domains, then every other declared domain (events), then
# "other" (whatever the monolith serves outside the domains: the gateway's ``monolith`` route).
DOMAINS = (*FLAGGED, *(d.name for d in DOMAIN_LIST if not d.flagged), "other")
_SERIES_OF = {**{d: d for d in DOMAINS if d != "other"}, UNROUTED: "other"}


def _buckets(window: int, now: float | None) -> tuple[list[int], list[dict[tuple[str, str, str], int]]]:
    """The last ``window`` complete seconds and, for each, ``{(route, backend, outcome): count}``."""
    end = int(now if now is not None else time.time()) - 1  # the current second is still filling
    seconds = list(range(end - window + 1, end + 1))
    pipe = redis_client().pipeline(transaction=False)
    for second in seconds:
        pipe.hgetall(f"traffic:{second}")
    parsed = []
    for bucket in pipe.execute():
        counts: dict[tuple[str, str, str], int] = {}
        for raw_field, raw_count in bucket.items():
            parts = tuple(raw_field.decode().split(":"))
            if len(parts) == 3:
                counts[parts] = counts.get(parts, 0) + int(raw_count)
        parsed.append(counts)
    return seconds, parsed


def series(window: int = 60, now: float | None = None) -> dict[str, Any]:
    """Requests/s per backend and error rate per domain for each of the last ``window`` seconds."""
    seconds, buckets = _buckets(window, now)
    per_backend = {b: [0] * window for b in BACKENDS}
    ok = {d: [0] * window for d in DOMAINS}
    err = {d: [0] * window for d in DOMAINS}
    for i, bucket in enumerate(buckets):
        for (route, backend, outcome), count in bucket.items():
            if backend in per_backend:
                per_backend[backend][i] += count
            name = _SERIES_OF.get(route)
            if name is not None:
                (err if outcome == "err" else ok)[name][i] += count
    error_rate = {
        d: [round(e / (o + e), 4) if (o + e) else 0 for o, e in zip(ok[d], err[d], strict=True)] for d in DOMAINS
    }
    return {
        "labels": [time.strftime("%H:%M:%S", time.localtime(s)) for s in seconds],
        "requests": per_backend,
        "error_rate": error_rate,
        "totals": {d: sum(ok[d]) + sum(err[d]) for d in DOMAINS},
    }


@dataclass(frozen=True)
class BackendStats:
    """One backend's traffic for one domain over the window."""

    requests: int
    errors: int
    window: int

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.window

    @property
    def error_rate(self) -> float | None:
        """Share of failed requests (None without requests)."""
        return self.errors / self.requests if self.requests else None


@dataclass(frozen=True)
class DomainStats:
    """A domain's live traffic: monolith vs service, and the share that really reached the service."""

    domain: str
    monolith: BackendStats
    service: BackendStats

    @property
    def observed_share(self) -> float | None:
        """Percent of the domain's requests answered by the service (None without traffic)."""
        total = self.monolith.requests + self.service.requests
        return 100 * self.service.requests / total if total else None


def domain_stats(domain: str, window: int = 60, now: float | None = None) -> DomainStats:
    """``domain``'s requests and errors per backend over the last ``window`` seconds."""
    _seconds, buckets = _buckets(window, now)
    totals = {(b, o): 0 for b in BACKENDS for o in ("ok", "err")}
    for bucket in buckets:
        for (route, backend, outcome), count in bucket.items():
            if route == domain and (backend, outcome) in totals:
                totals[(backend, outcome)] += count
    return DomainStats(domain, *(BackendStats(totals[(b, "ok")] + totals[(b, "err")], totals[(b, "err")], window)
                                 for b in BACKENDS))
