"""Bounds on password work: who may make the users service hash or verify a password, and how often.

Each argon2 check costs tens of milliseconds of CPU, so an unbounded stream of logins (even
with usernames that do not exist: those cost one dummy verification, to hide which accounts
exist) starves every other request. Four bounds, checked before any hashing:

* per client address: ``password_checks_per_address`` logins and sign-ups a minute, and
  ``signups_per_address`` new accounts an hour (:class:`PasswordThrottle`);
* per username *and* address: ``MAX_FAILURES`` wrong passwords in ``WINDOW_SECONDS``. Keyed
  by both, so an attacker elsewhere cannot lock the owner out; the username is normalised as
  the login reads it (stripped) and case-folded, so ``Alice `` and ``alice`` share a count;
* per worker process: :class:`PasswordGate` lets ``concurrency`` checks run and ``queue``
  more wait, one address holding at most one of those places; any further one is refused
  at once (429), so waiting never piles up and one address cannot crowd out the rest.

Counters live in Redis (``kernel.rate_limit``), shared by every worker and replica.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from kernel.errors import TooManyRequests
from kernel.rate_limit import WindowCounter, redis_for_limits
from kernel.settings import Settings

MAX_FAILURES = 5
WINDOW_SECONDS = 300
KEY_PREFIX = "cinemaabyss:login-failures:"
CHECKS_PREFIX = "cinemaabyss:password-checks:"
SIGNUPS_PREFIX = "cinemaabyss:signups:"
GATE_RETRY_AFTER = 1


def address_key(address: str | None) -> str:
    """``address`` as a throttling key: an IPv4 address, an IPv6 /64 (one host's usual share), or ``-``."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return "-"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def username_key(username: str) -> str:
    """A username as the failure count knows it: stripped (as the login reads it) and case-folded."""
    return username.strip().casefold()


class PasswordGate:
    """Password checks in this process: ``concurrency`` at once, ``queue`` more waiting, and at most
    ``per_address`` of them (running or waiting) for one client address; any other → 429 at once.

    The per-address share keeps one busy address from filling the queue, so a flood from one
    place never makes a real user wait behind it.
    """

    def __init__(self, concurrency: int, queue: int, *, per_address: int = 1, wait_seconds: float = 2.0) -> None:
        self._admitted = threading.BoundedSemaphore(max(1, concurrency) + max(0, queue))
        self._running = threading.BoundedSemaphore(max(1, concurrency))
        self._per_address = max(1, per_address)
        self._by_address: dict[str, int] = {}
        self._lock = threading.Lock()
        self._wait = wait_seconds

    @contextmanager
    def slot(self, address: str = "-") -> Iterator[None]:
        """Hold a slot for one check; :class:`TooManyRequests` at once when the address's share, or
        every slot and queue place, is taken (or no slot frees up within the wait)."""
        key = address_key(address)
        with self._lock:
            if self._by_address.get(key, 0) >= self._per_address:
                raise _busy()
            self._by_address[key] = self._by_address.get(key, 0) + 1
        try:
            if not self._admitted.acquire(blocking=False):
                raise _busy()
            try:
                if not self._running.acquire(timeout=self._wait):
                    raise _busy()
                try:
                    yield
                finally:
                    self._running.release()
            finally:
                self._admitted.release()
        finally:
            with self._lock:
                left = self._by_address.pop(key) - 1
                if left:
                    self._by_address[key] = left


def _busy() -> TooManyRequests:
    return TooManyRequests("too many password checks in progress; try again shortly", retry_after=GATE_RETRY_AFTER)


class PasswordThrottle:
    """The users service's bounds on password work (see the module docstring), built from settings."""

    def __init__(self, settings: Settings, *, client: redis.Redis | None = None) -> None:
        client = client or redis_for_limits(settings.redis_url)
        self.failures = WindowCounter(client, KEY_PREFIX, limit=MAX_FAILURES, window=WINDOW_SECONDS)
        self.checks = WindowCounter(client, CHECKS_PREFIX, limit=settings.password_checks_per_address, window=60)
        self.signups = WindowCounter(client, SIGNUPS_PREFIX, limit=settings.signups_per_address, window=3600)
        self.gate = PasswordGate(settings.password_check_concurrency, settings.password_check_queue)

    def check_address(self, address: str) -> None:
        """Count one password check for ``address``; :class:`TooManyRequests` beyond its budget."""
        taken = self.checks.take(address_key(address))
        if not taken.allowed:
            raise TooManyRequests("too many logins or sign-ups from this address; try again later",
                                  retry_after=taken.retry_after)

    def check_signup(self, address: str) -> None:
        """Count one sign-up for ``address`` (and its password check); :class:`TooManyRequests` beyond either."""
        self.check_address(address)
        taken = self.signups.take(address_key(address))
        if not taken.allowed:
            raise TooManyRequests("too many sign-ups from this address; try again later",
                                  retry_after=taken.retry_after)

    def attempt(self, username: str, address: str) -> None:
        """Take one login attempt for ``username`` from ``address``; :class:`TooManyRequests` once used up."""
        taken = self.failures.take(self._failure_key(username, address))
        if not taken.allowed:
            raise TooManyRequests("too many failed logins for this username; try again later",
                                  retry_after=taken.retry_after)

    def succeeded(self, username: str, address: str) -> None:
        """Clear the failure count after a successful login."""
        self.failures.reset(self._failure_key(username, address))

    @staticmethod
    def _failure_key(username: str, address: str) -> str:
        return f"{address_key(address)}|{username_key(username)}"
