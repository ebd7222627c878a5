"""A background task that writes a worker's in-memory counts to Redis once a second.

The traffic counters (``metrics.TrafficFlusher``) and the shadow counters
(``shadow.ShadowCounters``) share it: subclasses implement :meth:`RedisFlusher.flush`. A Redis
outage drops that second's counts (warned at most every 30 s) and never touches a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import redis.asyncio as aioredis

log = logging.getLogger(__name__)


class RedisFlusher:
    """Calls :meth:`flush` every ``interval`` seconds on its own task; one last flush on stop."""

    #: Task name, and what the outage warning says was not written.
    name = "counters"

    def __init__(self, redis_url: str, interval: float = 1.0) -> None:
        self.redis = aioredis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1)
        self.interval = interval
        self._task: asyncio.Task | None = None
        self._warned = 0.0

    async def flush(self) -> None:
        """Write what is pending (subclasses)."""
        raise NotImplementedError

    def start(self) -> None:
        """Start flushing."""
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Flush what is left and stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.flush()
        await self.redis.aclose()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.flush()
            except Exception as exc:  # Redis down: drop this second's counts, keep serving
                if time.monotonic() - self._warned > 30:
                    self._warned = time.monotonic()
                    log.warning("%s not written to Redis: %s", self.name, exc)
