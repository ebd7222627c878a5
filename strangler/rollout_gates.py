"""Rollout gate readings from the gateways' own per-second counters in Redis.

Every gateway flushes hash ``traffic:<unix second>`` once a second (``proxy/metrics.py``).
Besides the chart's ``<domain>:<backend>:<ok|err>`` fields it counts, for the rollout gates:

* ``<domain>:<backend>:lat:<i>`` — answered requests (status < 500) whose time to the
  response head fell in latency bucket ``i`` (:func:`latency_bucket`);
* ``<domain>:shadow:cmp:<match|mismatch|error>`` — shadow comparisons.

Gate fields have four parts, so readers of the three-part chart fields skip them. This
module names the fields (for the gateway) and turns a window of hashes into
:class:`Readings` (for the rollout runner). Pure, no I/O, no ORM: the gateway imports it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from strangler import judge

#: Bucket ``i`` holds latencies up to ``BASE_SECONDS * GROWTH ** i`` (0.5 ms … ~19 s, ±12 %).
BASE_SECONDS = 0.0005
GROWTH = 1.25
BUCKETS = 48


def bucket_bound(index: int) -> float:
    """Upper bound in seconds of bucket ``index``."""
    return BASE_SECONDS * GROWTH ** index


_BOUNDS = tuple(bucket_bound(i) for i in range(BUCKETS))


def latency_bucket(seconds: float) -> int:
    """The bucket index of a latency (the smallest ``i`` whose bound is >= ``seconds``)."""
    return min(BUCKETS - 1, bisect_left(_BOUNDS, seconds))


def latency_field(domain: str, backend: str, seconds: float) -> str:
    """Hash field counting one answered request of ``domain`` on ``backend`` taking ``seconds``."""
    return _latency_field(domain, backend, latency_bucket(seconds))


@lru_cache(maxsize=1024)
def _latency_field(domain: str, backend: str, bucket: int) -> str:  # called on every proxied request
    return f"{domain}:{backend}:lat:{bucket}"


def shadow_field(domain: str, result: str) -> str:
    """Hash field counting one shadow comparison (``match`` | ``mismatch`` | ``error``)."""
    return f"{domain}:shadow:cmp:{result}"


@dataclass(frozen=True, slots=True)
class Readings:
    """One domain's counters over a window, summed over every gateway.

    Latency histograms map bucket index → answered requests (:func:`latency_bucket`); the judge
    (:mod:`strangler.judge`) compares the service's with the monolith's.
    """

    service_ok: int = 0
    service_err: int = 0
    monolith_ok: int = 0
    monolith_err: int = 0
    service_latency: Mapping[int, int] = field(default_factory=dict)
    monolith_latency: Mapping[int, int] = field(default_factory=dict)
    shadow_match: int = 0
    shadow_mismatch: int = 0

    @property
    def service_requests(self) -> int:
        """Attempts at the service."""
        return self.service_ok + self.service_err

    @property
    def monolith_requests(self) -> int:
        """Attempts at the monolith."""
        return self.monolith_ok + self.monolith_err

    @property
    def service_error_rate(self) -> float:
        """Failed share of service attempts (0 without traffic)."""
        total = self.service_requests
        return self.service_err / total if total else 0.0

    @property
    def service_p99(self) -> float | None:
        """The service's p99 (bucket bound), ``None`` without answers."""
        return percentile(self.service_latency, 0.99)

    @property
    def monolith_p99(self) -> float | None:
        """The monolith's p99 (bucket bound), ``None`` without answers."""
        return percentile(self.monolith_latency, 0.99)

    @property
    def monolith_samples(self) -> int:
        """Monolith answers with a latency."""
        return sum(self.monolith_latency.values())

    @property
    def shadow_compared(self) -> int:
        """Shadow comparisons that got an answer from both sides."""
        return self.shadow_match + self.shadow_mismatch

    @property
    def shadow_mismatch_rate(self) -> float:
        """Mismatched share of shadow comparisons (0 without comparisons)."""
        total = self.shadow_compared
        return self.shadow_mismatch / total if total else 0.0


def percentile(counts: Mapping[int, int], q: float) -> float | None:
    """The ``q`` quantile (0..1) of a bucketed histogram, as its bucket's upper bound (:func:`judge.quantile`)."""
    return judge.quantile(counts, q, bucket_bound)


def readings(domain: str, hashes: Iterable[Mapping[bytes | str, bytes | str | int]]) -> Readings:
    """Sum one domain's fields over ``hashes`` (one ``HGETALL traffic:<second>`` each)."""
    plain: dict[str, int] = {}
    latency: dict[str, dict[int, int]] = {"service": {}, "monolith": {}}
    prefix = f"{domain}:"
    for fields in hashes:
        for raw_name, raw_count in fields.items():
            name = raw_name.decode() if isinstance(raw_name, bytes) else raw_name
            if not name.startswith(prefix):
                continue
            count = int(raw_count)
            parts = name.split(":")
            if len(parts) == 4 and parts[2] == "lat" and parts[1] in latency:
                buckets = latency[parts[1]]
                buckets[int(parts[3])] = buckets.get(int(parts[3]), 0) + count
            else:
                plain[name] = plain.get(name, 0) + count
    return Readings(
        service_ok=plain.get(f"{domain}:service:ok", 0),
        service_err=plain.get(f"{domain}:service:err", 0),
        monolith_ok=plain.get(f"{domain}:monolith:ok", 0),
        monolith_err=plain.get(f"{domain}:monolith:err", 0),
        service_latency=latency["service"],
        monolith_latency=latency["monolith"],
        shadow_match=plain.get(shadow_field(domain, "match"), 0),
        shadow_mismatch=plain.get(shadow_field(domain, "mismatch"), 0),
    )
