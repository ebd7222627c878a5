"""Consumer-group lag trend: is a group catching up or falling behind?

Each time the viewer reads the groups it appends ``(time, total lag)`` per group to a short
Redis list (``console:lag:<group>``, 30 samples, 15 minutes TTL); the trend is the change since
the oldest sample within :data:`WINDOW`. Redis down → no trend, never an error page.
"""

from __future__ import annotations

import time

from redis import RedisError

from control_plane.clients import redis_client
from control_plane.kafka_groups import GroupSummary

WINDOW = 300.0  # seconds the trend looks back
SAMPLES = 30
TTL = 900


def annotate(groups: list[GroupSummary], now: float | None = None) -> list[GroupSummary]:
    """Record each group's total lag and set its ``trend``; returns ``groups``."""
    now = time.time() if now is None else now
    try:
        pipe = redis_client().pipeline(transaction=False)
        for g in groups:
            key = f"console:lag:{g.group}"
            pipe.lpush(key, f"{now:.3f}:{g.total_lag}")
            pipe.ltrim(key, 0, SAMPLES - 1)
            pipe.expire(key, TTL)
            pipe.lrange(key, 0, SAMPLES - 1)
        replies = pipe.execute()
    except RedisError:
        return groups
    for g, samples in zip(groups, replies[3::4], strict=True):
        recent = [_sample(s) for s in samples]
        recent = [(at, lag) for at, lag in recent if now - at <= WINDOW]
        oldest = min(recent, default=None)
        g.trend = g.total_lag - oldest[1] if oldest is not None and oldest[0] < now else None
    return groups


def _sample(raw: bytes) -> tuple[float, int]:
    at, _, lag = raw.decode().partition(":")
    return float(at), int(lag)
