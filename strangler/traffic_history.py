"""Migration health over time: the gateways' per-second counters rolled up into 10-second rows.

The gateways count every request in Redis hashes ``traffic:<unix second>`` (ok/err per domain
and backend, latency histograms, see :mod:`strangler.rollout_gates`) which live ten minutes.
:func:`rollup` (a beat task, every 10 s) turns each complete 10-second bucket into one
``traffic_rollup`` row per route and backend: requests, errors, p50/p99 and the sparse latency
histogram. Rewriting a bucket from Redis is idempotent, so the task re-rolls the last minute
(late flushes) and catches up on up to ten minutes after an outage; rows older than the
retention are deleted in the same run. :func:`history` reads the rows back binned for a 5-minute,
1-hour or 24-hour chart, with every flag and plan change in that span as a marker.

Routes are the gateway's: a domain name, or ``monolith`` for paths outside every domain.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

from kernel.db import get_engine
from strangler.rollout_gates import percentile

BUCKET_S = 10
#: How far back the gateways' per-second hashes reach (their TTL).
REDIS_REACH_S = 600
#: Re-rolled every run: a gateway flushes once a second, a slow one may land a bucket late.
REROLL_S = 60
#: Read second by second from Redis by :func:`since`; older seconds come from the rollup rows.
RECENT_S = 70
#: Chart ranges: span and bin width in seconds.
RANGES: dict[str, tuple[int, int]] = {"5m": (300, 10), "1h": (3600, 60), "24h": (86400, 300)}
BACKENDS = ("monolith", "service")
#: Audit actions drawn as markers on the time axis.
MARKED = ("flag.%", "rollout.%")


@dataclass
class Tally:
    """One route and backend over some seconds: answered, failed, latency histogram (bucket → count)."""

    ok: int = 0
    err: int = 0
    latency: dict[int, int] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        """Every attempt."""
        return self.ok + self.err

    def add(self, other: Tally) -> None:
        """Sum ``other`` into this tally."""
        self.ok += other.ok
        self.err += other.err
        for index, count in other.latency.items():
            self.latency[index] = self.latency.get(index, 0) + count

    def quantile_ms(self, q: float) -> float | None:
        """The ``q`` latency quantile in milliseconds (None without answers)."""
        seconds = percentile(self.latency, q)
        return None if seconds is None else round(seconds * 1000, 2)


def tally(hashes: Iterable[Mapping[bytes | str, Any]]) -> dict[tuple[str, str], Tally]:
    """Sum ``traffic:<second>`` hashes into ``{(route, backend): Tally}`` (shadow fields skipped)."""
    out: dict[tuple[str, str], Tally] = {}
    for fields in hashes:
        for raw_name, raw_count in fields.items():
            parts = (raw_name.decode() if isinstance(raw_name, bytes) else raw_name).split(":")
            if len(parts) < 3 or parts[1] not in BACKENDS:
                continue
            entry = out.get((parts[0], parts[1]))
            if entry is None:
                entry = out[(parts[0], parts[1])] = Tally()
            count = int(raw_count)
            if len(parts) == 3 and parts[2] == "ok":
                entry.ok += count
            elif len(parts) == 3 and parts[2] == "err":
                entry.err += count
            elif len(parts) == 4 and parts[2] == "lat" and parts[3].isdigit():
                entry.latency[int(parts[3])] = entry.latency.get(int(parts[3]), 0) + count
    return out


def read_seconds(client: redis.Redis, first: int, last: int) -> list[dict[bytes, bytes]]:
    """The gateways' hashes for seconds ``first..last`` (inclusive) in one pipeline."""
    pipe = client.pipeline(transaction=False)
    for second in range(first, last + 1):
        pipe.hgetall(f"traffic:{second}")
    return pipe.execute()


_UPSERT = text(
    "INSERT INTO traffic_rollup (bucket, route, backend, ok, err, p50_ms, p99_ms, latency) "
    "VALUES (to_timestamp(:bucket), :route, :backend, :ok, :err, :p50, :p99, :latency) "
    "ON CONFLICT (bucket, route, backend) DO UPDATE SET ok = excluded.ok, err = excluded.err, "
    "p50_ms = excluded.p50_ms, p99_ms = excluded.p99_ms, latency = excluded.latency"
).bindparams(bindparam("latency", type_=JSONB))


def rollup(client: redis.Redis, *, retention_hours: float, url: str | None = None, now: float | None = None) -> int:
    """Write every complete 10-second bucket Redis still holds and the table lacks (or may have
    seen late); delete rows past ``retention_hours``. Returns how many rows were written."""
    now = time.time() if now is None else now
    end = int(now) - 1  # the current second is still filling
    end -= (end + 1) % BUCKET_S  # last second of the last complete bucket
    engine = get_engine(url)
    with engine.connect() as conn:
        latest = conn.execute(text("SELECT extract(epoch FROM max(bucket))::bigint FROM traffic_rollup")).scalar()
    start = end + 1 - REDIS_REACH_S + BUCKET_S if latest is None or latest > end else latest - REROLL_S
    start = max(start - start % BUCKET_S, end + 1 - REDIS_REACH_S + BUCKET_S)
    rows = []
    hashes = read_seconds(client, start, end) if start <= end else []
    for offset in range(0, len(hashes), BUCKET_S):
        bucket = start + offset
        for (route, backend), entry in tally(hashes[offset:offset + BUCKET_S]).items():
            if entry.requests:
                rows.append({"bucket": bucket, "route": route[:40], "backend": backend, "ok": entry.ok,
                             "err": entry.err, "p50": entry.quantile_ms(0.5), "p99": entry.quantile_ms(0.99),
                             "latency": {str(k): v for k, v in entry.latency.items()}})
    with engine.begin() as conn:
        if rows:
            conn.execute(_UPSERT, rows)
        conn.execute(text("DELETE FROM traffic_rollup WHERE bucket < now() - make_interval(secs => :s)"),
                     {"s": retention_hours * 3600})
    return len(rows)


def _markers(conn: Any, start: int, end: int) -> list[dict[str, Any]]:
    rows = conn.execute(text(
        "SELECT extract(epoch FROM at)::float8, domain, action, actor, before, after, reason FROM flag_audit "
        "WHERE at >= to_timestamp(:start) AND at < to_timestamp(:end) AND (action LIKE :a OR action LIKE :b) "
        "ORDER BY at"), {"start": start, "end": end, "a": MARKED[0], "b": MARKED[1]}).all()
    return [{"t": t, "domain": domain, "action": action, "actor": actor, "reason": reason or "",
             "target": _share(after), "before": _share(before)} for t, domain, action, actor, before, after, reason
            in rows]


def _share(flag: Mapping[str, Any] | None) -> int | None:
    """The share a flag snapshot sends to the service (None when the row is not a flag)."""
    if not flag or "mode" not in flag:
        return None
    return {"monolith": 0, "service": 100}.get(flag["mode"], flag.get("percent", 0))


def history(range_key: str, *, route: str | None = None, url: str | None = None,
            now: float | None = None) -> dict[str, Any]:
    """Binned series per route (every one, or just ``route``) and backend over ``range_key``
    (``5m`` | ``1h`` | ``24h``) plus markers.

    ``{"range", "step", "start", "end", "times": [epoch s], "routes": {route: {backend: {"requests",
    "errors", "p50_ms", "p99_ms"}}}, "markers": [...]}``; each series has one value per bin (p50
    weighted by answers, p99 the bin's worst 10-second p99 — an upper bound, never hiding a spike).
    """
    span, step = RANGES[range_key]
    now = time.time() if now is None else now
    end = int(now) - int(now) % step + step
    start = end - span
    times = list(range(start, end, step))
    with get_engine(url).connect() as conn:
        rows = conn.execute(text(
            "SELECT (floor(extract(epoch FROM bucket) / :step) * :step)::bigint AS t, route, backend, "
            "sum(ok)::bigint, sum(err)::bigint, "
            "sum(p50_ms * ok) / nullif(sum(ok) FILTER (WHERE p50_ms IS NOT NULL), 0), max(p99_ms) "
            "FROM traffic_rollup WHERE bucket >= to_timestamp(:start) AND bucket < to_timestamp(:end) "
            "AND (CAST(:route AS text) IS NULL OR route = :route) "
            "GROUP BY 1, 2, 3"), {"step": step, "start": start, "end": end, "route": route}).all()
        markers = _markers(conn, start, end)
    index = {t: i for i, t in enumerate(times)}
    routes: dict[str, dict[str, dict[str, list[Any]]]] = {}
    for t, route, backend, ok, err, p50, p99 in rows:
        series = routes.setdefault(route, {b: _empty(len(times)) for b in BACKENDS})[backend]
        i = index.get(t)
        if i is None:
            continue
        series["requests"][i] = ok + err
        series["errors"][i] = err
        series["p50_ms"][i] = None if p50 is None else round(float(p50), 2)
        series["p99_ms"][i] = None if p99 is None else round(float(p99), 2)
    return {"range": range_key, "step": step, "start": start, "end": end, "times": times, "routes": routes,
            "markers": markers}


def _empty(n: int) -> dict[str, list[Any]]:
    return {"requests": [0] * n, "errors": [0] * n, "p50_ms": [None] * n, "p99_ms": [None] * n}


def since(route: str, started: float, *, client: redis.Redis, url: str | None = None, now: float | None = None,
          recent: tuple[int, list[dict[bytes, bytes]]] | None = None) -> dict[str, Tally]:
    """``route``'s traffic per backend since ``started`` (epoch s), complete seconds only.

    The last minute comes from Redis second by second (``recent``: ``(first second, hashes up to
    now - 1)`` already read by the caller); anything older from the request counts of rollup
    rows whose bucket began after ``started`` (a bucket straddling the change is left out, so the
    previous share never leaks in; those rows carry no latency).
    """
    now = time.time() if now is None else now
    last = int(now) - 1
    if recent is None:
        first_recent = last - RECENT_S + 1
        recent = (first_recent, read_seconds(client, first_recent, last))
    first_recent, hashes = recent
    first = int(started) + 1
    out = {b: Tally() for b in BACKENDS}
    boundary = first_recent + (-first_recent) % BUCKET_S  # rows before it, Redis seconds from it
    if first < boundary:
        bucket_from = first + (-first) % BUCKET_S
        with get_engine(url).connect() as conn:
            rows = conn.execute(text(
                "SELECT backend, sum(ok)::bigint, sum(err)::bigint FROM traffic_rollup WHERE route = :route "
                "AND bucket >= to_timestamp(:a) AND bucket < to_timestamp(:b) GROUP BY backend"),
                {"route": route, "a": bucket_from, "b": boundary}).all()
        for backend, ok, err in rows:
            if backend in out:
                out[backend].add(Tally(int(ok), int(err)))
        first = boundary
    for (name, backend), entry in tally(hashes[max(0, first - first_recent):]).items():
        if name == route and backend in out:
            out[backend].add(entry)
    return out


def epoch(value: str | datetime | None) -> float | None:
    """An ISO timestamp (as flags carry ``updated_at``) as epoch seconds."""
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
