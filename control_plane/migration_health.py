"""How each migration is doing: per domain and backend, live figures, the share since the last change, history.

The live figures (requests/s, error rate, p50/p99 over the last 60 s) and the observed share
*since the flag last changed* come from the gateways' per-second counters in Redis (older
than ten minutes: the 10-second rollup rows), so a share just moved from 10 % to 50 % is not
mixed with the previous step. The charts read the rollup rows (:mod:`strangler.traffic_history`)
and carry the target share over time and a marker per flag or plan change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis

from control_plane import dates
from control_plane.clients import redis_client
from kernel.registry import DOMAINS, FLAGGED
from strangler import traffic_history
from strangler.traffic_history import BACKENDS, Tally

LIVE_S = 60
#: The window of the observed share of a flag that never changed.
UNCHANGED_S = 600
#: Chart names of the gateway's routes: ``monolith`` is whatever lies outside every domain.
ROUTES: dict[str, str] = {**{d: d for d in FLAGGED}, **{d.name: d.name for d in DOMAINS if not d.flagged},
                          "other": "monolith"}


@dataclass(frozen=True)
class Backend:
    """One backend of one domain over the live window."""

    requests: int
    errors: int
    p50_ms: float | None
    p99_ms: float | None
    window: int = LIVE_S

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.window

    @property
    def error_rate(self) -> float | None:
        """Share of failed attempts (None without any)."""
        return self.errors / self.requests if self.requests else None


@dataclass(frozen=True)
class Since:
    """The share the service answered since the flag's last change."""

    started: float | None
    seconds: int
    service: int
    monolith: int

    @property
    def share(self) -> float | None:
        """Percent of the domain's requests the service answered (None without traffic)."""
        total = self.service + self.monolith
        return 100 * self.service / total if total else None


@dataclass(frozen=True)
class DomainHealth:
    """A domain's migration at a glance."""

    domain: str
    target: int | None
    mode: str | None
    plan: dict[str, Any] | None
    backends: dict[str, Backend]
    since: Since | None


def _backend(entry: Tally | None) -> Backend:
    entry = entry or Tally()
    return Backend(entry.requests, entry.err, entry.quantile_ms(0.5), entry.quantile_ms(0.99))


def _target(flag: dict[str, Any]) -> int:
    return {"monolith": 0, "service": 100}.get(flag["mode"], flag["percent"])


def overview(flags: list[dict[str, Any]], plans: dict[str, dict[str, Any] | None], *,
             client: redis.Redis | None = None, now: float | None = None,
             only: str | None = None) -> list[DomainHealth]:
    """One :class:`DomainHealth` per chart route (or just ``only``); flagged domains carry their flag,
    plan and share since the change.

    Reads the last seconds once (one Redis pipeline) for every domain; the share since an older
    change adds the rollup rows' counts.
    """
    client = client or redis_client()
    now = time.time() if now is None else now
    last = int(now) - 1
    first = last - traffic_history.RECENT_S + 1
    seconds = traffic_history.read_seconds(client, first, last)
    live = traffic_history.tally(seconds[-LIVE_S:])
    by_domain = {f["domain"]: f for f in flags}
    out = []
    for name, route in ROUTES.items():
        if only is not None and name != only:
            continue
        flag = by_domain.get(name)
        since = None
        if flag is not None:
            started = traffic_history.epoch(flag.get("updated_at")) if flag.get("persisted") else None
            since = _since(route, started, (first, seconds), client, now)
        out.append(DomainHealth(
            domain=name, target=_target(flag) if flag else None, mode=flag["mode"] if flag else None,
            plan=plans.get(name), backends={b: _backend(live.get((route, b))) for b in BACKENDS}, since=since))
    return out


def _since(route: str, started: float | None, recent: tuple[int, list[dict[bytes, bytes]]], client: redis.Redis,
           now: float) -> Since:
    """The share since ``started`` (a flag never changed: the last :data:`UNCHANGED_S`)."""
    begin = started if started is not None else now - 1 - UNCHANGED_S
    per = traffic_history.since(route, begin, client=client, now=now, recent=recent)
    return Since(started, max(0, int(now) - 1 - int(begin)), per["service"].requests, per["monolith"].requests)


def chart(domain: str, range_key: str, flag: dict[str, Any] | None, *, now: float | None = None) -> dict[str, Any]:
    """One domain's history for the charts: per backend requests/s, error rate, p50/p99; observed vs target share.

    ``markers`` are the domain's flag and plan changes in the span, each with the bin it falls in.
    """
    data = traffic_history.history(range_key, route=ROUTES[domain], now=now)
    step, start, times = data["step"], data["start"], data["times"]
    empty = {"requests": [0] * len(times), "errors": [0] * len(times), "p50_ms": [None] * len(times),
             "p99_ms": [None] * len(times)}
    routes = data["routes"].get(ROUTES[domain], {b: empty for b in BACKENDS})
    series: dict[str, Any] = {}
    for backend in BACKENDS:
        raw = routes.get(backend, empty)
        series[backend] = {
            "rps": [round(n / step, 3) for n in raw["requests"]],
            "error_rate": [round(100 * e / n, 2) if n else None for n, e in zip(raw["requests"], raw["errors"],
                                                                                strict=True)],
            "p50_ms": raw["p50_ms"], "p99_ms": raw["p99_ms"],
        }
    service, monolith = routes.get("service", empty)["requests"], routes.get("monolith", empty)["requests"]
    observed = [round(100 * s / (s + m), 1) if s + m else None for s, m in zip(service, monolith, strict=True)]
    markers = [{**m, "index": int((m["t"] - start) // step), "at": dates.text(m["t"])} for m in data["markers"]
               if m["domain"] == domain]
    return {"domain": domain, "range": range_key, "step": step, "times": times,
            "labels": [dates.text(t) for t in times],
            "series": series, "observed": observed, "target": _targets(markers, flag, len(times)),
            "markers": markers}


def _targets(markers: list[dict[str, Any]], flag: dict[str, Any] | None, n: int) -> list[int | None]:
    """The target share in each bin: the flag's value then, read back from the changes in the span."""
    if flag is None:
        return [None] * n
    changes = [m for m in markers if m["target"] is not None]
    current = changes[0]["before"] if changes and changes[0]["before"] is not None else _target(flag)
    out, k = [], 0
    for i in range(n):
        while k < len(changes) and changes[k]["index"] <= i:
            current = changes[k]["target"]
            k += 1
        out.append(current)
    return out
