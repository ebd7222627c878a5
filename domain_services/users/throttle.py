"""Login throttling: too many login attempts for one username within a window → refused.

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
    """Fixed-window attempt counters in process memory (the fallback store)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, float]] = {}  # key -> (failures, window end)

    def increment(self, key: str, window: int) -> int:
        """Count one attempt and return the count; the window starts at the first attempt."""
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
        """Forget the attempts of ``key``."""
        with self._lock:
            self._windows.pop(key, None)


# INCR and the window's EXPIRE in one atomic step: each caller gets its own position in the
# window, however many logins run at once.
_ATTEMPT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class LoginThrottle:
    """Counts login attempts per username in Redis, falling back to :class:`LocalCounter`.

    An attempt takes its slot *before* the password is checked, so 30 concurrent wrong
    logins get exactly ``max_failures`` password checks and the rest a 429. A successful
    login clears the counter.
    """

    def __init__(self, redis_url: str, *, max_failures: int = MAX_FAILURES, window_seconds: int = WINDOW_SECONDS,
                 local: LocalCounter | None = None) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        # No connection is opened here; redis-py connects on first use.
        self._redis = redis.Redis.from_url(redis_url, socket_connect_timeout=0.25, socket_timeout=0.25)
        self._attempt = self._redis.register_script(_ATTEMPT)
        self._local = local or LocalCounter()

    @staticmethod
    def _key(username: str) -> str:
        return KEY_PREFIX + username.casefold()

    def attempt(self, username: str) -> bool:
        """Take one attempt for ``username``; False when its attempts in this window are used up."""
        key = self._key(username)
        try:
            count = int(self._attempt(keys=[key], args=[self.window_seconds]))
        except redis.RedisError as exc:
            log.warning("login throttle: Redis unavailable (%s), using the in-process counter", exc)
            count = self._local.increment(key, self.window_seconds)
        return count <= self.max_failures

    def reset(self, username: str) -> None:
        """Clear the counter after a successful login."""
        key = self._key(username)
        self._local.reset(key)
        try:
            self._redis.delete(key)
        except redis.RedisError as exc:
            log.warning("login throttle: Redis unavailable (%s); counter not cleared", exc)
