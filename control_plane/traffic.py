"""The proxy's live counters in Redis, shaped for the dashboard chart.

The proxy increments hash ``traffic:<unix second>`` fields ``<domain>:<backend>:<ok|err>``
(TTL 600 s). This module reads the last ``window`` complete seconds in one pipeline.
"""

from __future__ import annotations

import time
from typing import Any

from control_plane.clients import redis_client
from domain_services.shared.registry import DOMAINS as DOMAIN_LIST
from domain_services.shared.registry import FLAGGED

BACKENDS = ("monolith", "service")
# The gateway counts per route: the flagged domains, then every other declared domain
# (events), then "other" (whatever the monolith serves outside the domains).
DOMAINS = (*FLAGGED, *(d.name for d in DOMAIN_LIST if not d.flagged), "other")


def series(window: int = 60, now: float | None = None) -> dict[str, Any]:
    """Requests/s per backend and error rate per domain for each of the last ``window`` seconds."""
    end = int(now if now is not None else time.time()) - 1  # the current second is still filling
    seconds = list(range(end - window + 1, end + 1))
    pipe = redis_client().pipeline(transaction=False)
    for second in seconds:
        pipe.hgetall(f"traffic:{second}")
    buckets = pipe.execute()
    per_backend = {b: [0] * window for b in BACKENDS}
    ok = {d: [0] * window for d in DOMAINS}
    err = {d: [0] * window for d in DOMAINS}
    for i, bucket in enumerate(buckets):
        for raw_field, raw_count in bucket.items():
            parts = raw_field.decode().split(":")
            if len(parts) != 3:
                continue
            domain, backend, outcome = parts
            count = int(raw_count)
            if backend in per_backend:
                per_backend[backend][i] += count
            if domain in ok:
                (err if outcome == "err" else ok)[domain][i] += count
    error_rate = {
        d: [round(e / (o + e), 4) if (o + e) else 0 for o, e in zip(ok[d], err[d], strict=True)] for d in DOMAINS
    }
    return {
        "labels": [time.strftime("%H:%M:%S", time.localtime(s)) for s in seconds],
        "requests": per_backend,
        "error_rate": error_rate,
        "totals": {d: sum(ok[d]) + sum(err[d]) for d in DOMAINS},
    }
