"""Login throttling: too many failed logins for one username within a window → refused.

Counters live in Redis so every worker and every replica of the users service shares them.
If Redis is unreachable the throttle keeps working with an in-process counter (weaker, per
process, but a login never fails because Redis is down).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)

MAX_FAILURES = 5
WINDOW_SECONDS = 300
KEY_PREFIX = "cinemaabyss:login-failures:"


class LocalCounter:
    """Fixed-window failure counters in process memory (the fallback store)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, float]] = {}  # key -> (failures, window end)

    def count(self, key: str) -> int:
        """Failures recorded for ``key`` in its current window."""
        with self._lock:
            failures, ends = self._windows.get(key, (0, 0.0))
            return failures if ends > self._clock() else 0

    def increment(self, key: str, window: int) -> int:
        """Record one failure; the window starts at the first failure."""
        with self._lock:
            now = self._clock()
            failures, ends = self._windows.get(key, (0, 0.0))
            if ends <= now:
                failures, ends = 0, now + window
            self._windows[key] = (failures + 1, ends)
            if len(self._windows) > 100_000:  # bound memory under a username-spraying attack
                self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
            return failures + 1

    def reset(self, key: str) -> None:
        """Forget the failures of ``key``."""
        with self._lock:
            self._windows.pop(key, None)


class LoginThrottle:
    """Counts failed logins per username in Redis, falling back to :class:`LocalCounter`."""

    def __init__(self, redis_url: str, *, max_failures: int = MAX_FAILURES, window_seconds: int = WINDOW_SECONDS,
                 local: LocalCounter | None = None) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        # No connection is opened here; redis-py connects on first use.
        self._redis = redis.Redis.from_url(redis_url, socket_connect_timeout=0.25, socket_timeout=0.25)
        self._local = local or LocalCounter()

    @staticmethod
    def _key(username: str) -> str:
        return KEY_PREFIX + username.casefold()

    def is_blocked(self, username: str) -> bool:
        """True while ``username`` has used up its failed attempts in the current window."""
        key = self._key(username)
        try:
            raw = self._redis.get(key)
            count = int(raw) if raw is not None else 0
        except redis.RedisError as exc:
            log.warning("login throttle: Redis unavailable (%s), using the in-process counter", exc)
            count = self._local.count(key)
        return count >= self.max_failures

    def record_failure(self, username: str) -> None:
        """Count one failed login; the window starts with the first failure."""
        key = self._key(username)
        try:
            pipe = self._redis.pipeline()
            pipe.set(key, 0, ex=self.window_seconds, nx=True)  # the window starts at the first failure
            pipe.incr(key)  # INCR keeps the TTL set above
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("login throttle: Redis unavailable (%s), using the in-process counter", exc)
            self._local.increment(key, self.window_seconds)

    def reset(self, username: str) -> None:
        """Clear the counter after a successful login."""
        key = self._key(username)
        self._local.reset(key)
        try:
            self._redis.delete(key)
        except redis.RedisError as exc:
            log.warning("login throttle: Redis unavailable (%s); counter not cleared", exc)
