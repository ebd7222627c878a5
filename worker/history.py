"""The traffic history task: the gateways' per-second counters rolled up into 10-second rows.

One Redis client per worker process, created on first use. Several beat ticks racing is
harmless: a bucket rewritten from the same counters holds the same numbers.
"""

from __future__ import annotations

import logging

import redis

from strangler import traffic_history
from worker.app import TRAFFIC_ROLLUP_TASK, app, settings

log = logging.getLogger(__name__)
_redis: redis.Redis | None = None


@app.task(name=TRAFFIC_ROLLUP_TASK, ignore_result=True)
def traffic_rollup() -> int:
    """Write the complete 10-second buckets still in Redis and prune rows past the retention."""
    global _redis
    config = settings()
    if _redis is None:
        _redis = redis.Redis.from_url(config.redis_url, socket_timeout=2)
    return traffic_history.rollup(_redis, retention_hours=config.traffic_history_hours)
