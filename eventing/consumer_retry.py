"""What a consumer does with a message its handler failed on: retry it later, or dead-letter it.

Two kinds of failure, told apart by :func:`is_transient`:

- *Transient*: the world around the handler is broken (PostgreSQL down, a connection reset,
  a timeout, the dead-letter topic itself unreachable). The message is fine, so it is retried
  without limit, with a back-off capped at ``max_backoff_s``, and never dead-lettered:
  nothing is lost, the partition simply waits until the dependency is back.
- *Poison*: the handler itself fails on this message (a ``ValueError`` on ``"user_id":
  "abc"``, a ``KeyError``...). It is retried ``max_attempts`` times in all with a growing
  back-off, then dead-lettered so the messages behind it move on. A :class:`PoisonMessage`
  (e.g. a value that is not an envelope) cannot get better by retrying and is dead-lettered
  at once.

The decision is a pure function of the error and the attempt number, tested without Kafka.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from sqlalchemy import exc as sa_exc

from kernel import backoff

# Errors that say "a dependency is unavailable", not "this message is bad".
_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,  # server gone, connection refused, admin shutdown
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # connection pool exhausted
    psycopg.OperationalError,
    ConnectionError,
    TimeoutError,
)


class PoisonMessage(Exception):
    """A message that can never be handled (not decodable, not an envelope): dead-letter it now."""


class DependencyUnavailable(Exception):
    """A dependency of the consumer itself failed (e.g. the dead-letter topic): retry later."""


@dataclass(frozen=True)
class Retry:
    """Handle the message again after ``delay_s`` (the partition waits)."""

    delay_s: float


@dataclass(frozen=True)
class DeadLetter:
    """Give up on the message: produce it to its dead-letter topic and move on."""


Decision = Retry | DeadLetter


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and the exceptions it was raised from (``__cause__`` / ``__context__``)."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) means a dependency is down rather than a bad message."""
    for exc in _chain(error):
        if isinstance(exc, PoisonMessage):
            return False
        if isinstance(exc, (*_TRANSIENT_TYPES, DependencyUnavailable)):
            return True
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            return True
    return False


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries for poison messages, unbounded (capped back-off) for transient failures."""

    max_attempts: int = 3
    backoff_s: float = 0.2
    max_backoff_s: float = 5.0

    def delay(self, attempt: int) -> float:
        """Pause before attempt ``attempt + 1``: ``backoff_s * 2**(attempt - 1)``, capped."""
        return backoff.delay(attempt, self.backoff_s, self.max_backoff_s)

    def decide(self, error: BaseException, attempt: int) -> Decision:
        """The decision after the ``attempt``-th failed attempt (1-based) ended in ``error``."""
        if is_transient(error):
            return Retry(self.delay(attempt))
        if isinstance(error, PoisonMessage) or attempt >= self.max_attempts:
            return DeadLetter()
        return Retry(self.delay(attempt))
