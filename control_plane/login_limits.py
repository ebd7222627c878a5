"""Console login throttling, counted before the password is checked (atomic in Redis).

Two windows, both taken *before* the argon2 check, so a burst of concurrent wrong passwords
gets at most the limit of real checks:

* per username and address: ``MAX_FAILURES`` attempts in ``WINDOW_SECONDS`` (a successful
  login clears it) — an attacker elsewhere cannot lock the operator out;
* per address: ``MAX_PER_ADDRESS`` failed attempts in the same window, whatever the usernames
  (a successful login gives its slot back) — which also bounds the audit rows one address
  can make the console write.
"""

from __future__ import annotations

import redis

from kernel.errors import TooManyRequests
from kernel.rate_limit import WindowCounter

MAX_FAILURES = 5
MAX_PER_ADDRESS = 30
WINDOW_SECONDS = 300


def username_key(username: str) -> str:
    """The username as the login looks it up (stripped, at most 100 characters), case-folded."""
    return username.strip()[:100].casefold()


class LoginLimits:
    """The console's login windows over one Redis client."""

    def __init__(self, client: redis.Redis) -> None:
        self.per_user = WindowCounter(client, "cinemaabyss:console-login:", limit=MAX_FAILURES, window=WINDOW_SECONDS)
        self.per_address = WindowCounter(client, "cinemaabyss:console-login-ip:", limit=MAX_PER_ADDRESS,
                                         window=WINDOW_SECONDS)

    def take(self, username: str, ip: str) -> None:
        """Count one attempt; :class:`TooManyRequests` (no password check follows) beyond either window."""
        for taken in (self.per_address.take(ip[:64]), self.per_user.take(self._key(username, ip))):
            if not taken.allowed:
                raise TooManyRequests("too many failed logins; try again in a few minutes",
                                      retry_after=taken.retry_after)

    def succeeded(self, username: str, ip: str) -> None:
        """A correct password clears the username's count from that address and returns the address's slot."""
        self.per_user.reset(self._key(username, ip))
        self.per_address.give_back(ip[:64])

    @staticmethod
    def _key(username: str, ip: str) -> str:
        return f"{ip[:64]}|{username_key(username)}"
