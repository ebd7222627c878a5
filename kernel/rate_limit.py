"""Fixed-window counters shared by every worker and replica (Redis), with an in-process fallback.

A caller *takes* a slot before the work it limits (a password check, a sign-up): the counter
is incremented and read in one atomic step, so however many requests arrive at once, exactly
``limit`` of them are let through per window — never "check, then count", which lets a burst
slip past the limit. If Redis is unreachable the counter keeps working in process memory
(weaker: per process), so a limit never turns into an outage.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)

# INCR, the window's EXPIRE on the first hit, and the time left, in one atomic step.
_TAKE = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""
# Give one hit back, only while its window lives (a DECR on a missing key would leave a
# negative count without expiry).
_GIVE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end
return 0
"""
#: Bound on the fallback's keys under a spraying attack (expired windows are dropped first).
_LOCAL_KEYS = 100_000


@dataclass(frozen=True, slots=True)
class Taken:
    """The outcome of one :meth:`WindowCounter.take`: the count so far and seconds to the window's end."""

    count: int
    limit: int
    retry_after: int

    @property
    def allowed(self) -> bool:
        """Whether this take is within the limit."""
        return self.count <= self.limit


class LocalCounter:
    """Fixed-window counters in process memory (the fallback store)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, float]] = {}  # key -> (count, window end)

    def increment(self, key: str, window: int) -> tuple[int, int]:
        """Count one hit; ``(count, seconds left)``. The window starts at the first hit."""
        with self._lock:
            now = self._clock()
            count, ends = self._windows.get(key, (0, 0.0))
            if ends <= now:
                count, ends = 0, now + window
            self._windows[key] = (count + 1, ends)
            if len(self._windows) > _LOCAL_KEYS:
                self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
            return count + 1, max(1, int(ends - now + 0.999))

    def reset(self, key: str) -> None:
        """Forget the hits of ``key``."""
        with self._lock:
            self._windows.pop(key, None)

    def decrement(self, key: str) -> None:
        """Give one hit of ``key`` back (within its window)."""
        with self._lock:
            count, ends = self._windows.get(key, (0, 0.0))
            if count > 0:
                self._windows[key] = (count - 1, ends)


class WindowCounter:
    """At most ``limit`` takes per key per ``window`` seconds, counted in Redis under ``prefix``."""

    def __init__(self, client: redis.Redis, prefix: str, *, limit: int, window: int,
                 local: LocalCounter | None = None) -> None:
        self.prefix, self.limit, self.window = prefix, limit, window
        self._redis = client
        self._take = client.register_script(_TAKE)
        self._give_back = client.register_script(_GIVE_BACK)
        self._local = local or LocalCounter()

    def take(self, key: str) -> Taken:
        """Count one hit for ``key``; the result says whether it is within the limit."""
        full = self.prefix + key
        try:
            count, ttl = (int(x) for x in self._take(keys=[full], args=[self.window]))
        except redis.RedisError as exc:
            log.warning("rate limit %s: Redis unavailable (%s), counting in process", self.prefix, exc)
            count, ttl = self._local.increment(full, self.window)
        return Taken(count, self.limit, max(1, ttl))

    def reset(self, key: str) -> None:
        """Clear ``key``'s window (e.g. after a successful login)."""
        full = self.prefix + key
        self._local.reset(full)
        try:
            self._redis.delete(full)
        except redis.RedisError as exc:
            log.warning("rate limit %s: Redis unavailable (%s); %s not cleared", self.prefix, exc, key)


    def give_back(self, key: str) -> None:
        """Return one take of ``key`` (the limited thing turned out harmless, e.g. a correct password)."""
        full = self.prefix + key
        self._local.decrement(full)
        try:
            self._give_back(keys=[full])
        except redis.RedisError as exc:
            log.warning("rate limit %s: Redis unavailable (%s); %s not given back", self.prefix, exc, key)


def redis_for_limits(url: str) -> redis.Redis:
    """A client with short timeouts: a slow Redis must not hold a request (the fallback counts instead)."""
    return redis.Redis.from_url(url, socket_connect_timeout=0.25, socket_timeout=0.25)
