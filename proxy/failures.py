"""Consecutive-failure detection: a streak of failed service attempts trips at once.

The windowed error rate (:mod:`proxy.rollback`) needs enough traffic in its ten-second
window before it judges; a service that refuses every connection should not wait for that.
Each domain keeps the length of its current streak of failed service attempts (connect
error, timeout, 5xx); any success resets it. When the streak reaches the flag's
``rollback_consecutive`` the domain is rolled back (Envoy's outlier detection uses the same
rule with 5 consecutive gateway errors).

Counted per gateway worker, in the order outcomes arrive — at 100 req/s over four workers a
dead service trips every worker within about 0.2 s.
"""

from __future__ import annotations


class ConsecutiveFailures:
    """Current streak of failed service attempts per domain."""

    __slots__ = ("streaks",)

    def __init__(self) -> None:
        self.streaks: dict[str, int] = {}

    def record(self, domain: str, failed: bool) -> int:
        """Count one attempt's outcome; returns the streak after it (0 after a success)."""
        if not failed:
            if self.streaks.get(domain):
                self.streaks[domain] = 0
            return 0
        streak = self.streaks.get(domain, 0) + 1
        self.streaks[domain] = streak
        return streak

    def tripped(self, domain: str, threshold: int) -> bool:
        """Whether ``domain``'s streak has reached ``threshold`` (a threshold below 1 never trips)."""
        return threshold >= 1 and self.streaks.get(domain, 0) >= threshold

    def clear(self, domain: str) -> None:
        """Forget ``domain``'s streak (after a rollback)."""
        self.streaks.pop(domain, None)
