"""Capped exponential back-off: the one formula every retry and reconnect loop uses.

A pause starts at ``first`` seconds and doubles with each failure in a row, never above
``cap``: the consumer's retries, webhook deliveries, the outbox relay's failed rows (through
:func:`schedule`, as the relay computes them in SQL) and reconnect loops. Pure functions
of their arguments, so the schedule is tested without a clock.
"""

from __future__ import annotations

# 2**62 times any sensible first pause is far above any cap; the bound keeps a float
# multiplication from overflowing after thousands of failures.
_MAX_DOUBLINGS = 62


def delay(attempt: int, first: float, cap: float) -> float:
    """The pause after failure number ``attempt`` (1-based): ``first * 2**(attempt - 1)``, at most ``cap``.

    An ``attempt`` below 1 counts as the first.
    """
    doublings = min(max(0, attempt - 1), _MAX_DOUBLINGS)
    return min(cap, first * 2**doublings)


def schedule(first: float, cap: float) -> tuple[float, ...]:
    """Every distinct pause in order, ending at ``cap``: ``delay(n)`` is item ``n``, or the last one.

    For code that applies the formula where Python does not run (the relay's SQL indexes this
    array by a row's attempt count).
    """
    if first <= 0:
        return (min(cap, max(first, 0.0)),)
    pauses = [delay(1, first, cap)]
    while pauses[-1] < cap:
        pauses.append(delay(len(pauses) + 1, first, cap))
    return tuple(pauses)


class Backoff:
    """A reconnect loop's pause: :meth:`next` after each failure, :meth:`reset` after a success."""

    def __init__(self, first: float, cap: float) -> None:
        self.first = first
        self.cap = cap
        self.failures = 0

    def next(self) -> float:
        """Count one more failure in a row and return the pause before the next try."""
        self.failures += 1
        return delay(self.failures, self.first, self.cap)

    def reset(self) -> None:
        """A success: the next failure pauses ``first`` again."""
        self.failures = 0
