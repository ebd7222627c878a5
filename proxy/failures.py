"""Whose fault a failed service attempt was, and the consecutive-failure streak — pure decisions.

A caller must not be able to roll a migration back by sending requests the service cannot
answer. So an attempt's :class:`Outcome` says whether it is evidence against the service:

* ``CONNECT`` — no connection to the service could be made. No byte of the request reached
  it, so the request's content cannot have caused it: the service is down.
* ``FAULT`` — the service answered 5xx, timed out or broke its answer, and either the monolith
  then served the same request successfully (fallback) or there was nothing to compare with
  (a write, or fallback off). The request may have been crafted to fail there, so such
  failures roll back only when several distinct callers (:data:`WITNESSES`) saw them.
* ``EXCUSED`` — not the service's fault: the monolith failed or refused the same request too
  (a request nobody can serve, a monolith outage). Neither counts nor resets anything.
* ``SUCCESS`` — any answer below 500, client errors (4xx) included.

A *caller* is the verified user id, else the client address (never a client-sent hint such
as ``X-User-Id``: an anonymous caller could name a new one per request).

Each domain keeps its current streak of failed service attempts (connect and fault) with the
callers behind it; a success resets it. The streak trips when it reaches the flag's
``rollback_consecutive`` and either that many of its failures were connect failures (a dead
service, whoever calls) or at least ``witnesses`` distinct callers are in it (Envoy's outlier
detection trips on 5 consecutive gateway errors; the witness rule is ours).

Counted per gateway worker, in the order outcomes arrive — at 100 req/s over four workers a
dead service trips every worker within about 0.2 s.
"""

from __future__ import annotations

import enum

from proxy.retry import Failure

#: Distinct callers whose failures it takes to roll back on answered failures (default).
WITNESSES = 3


class Outcome(enum.Enum):
    """What one service attempt says about the service's health."""

    SUCCESS = "success"
    CONNECT = "connect"
    FAULT = "fault"
    EXCUSED = "excused"


def judge(failure: Failure, monolith_status: int | None) -> Outcome:
    """The outcome of a failed service attempt.

    ``monolith_status``: the monolith's status for the same request when it was replayed there
    (a failed monolith attempt counts as its 502/504), ``None`` when it was not.
    """
    if failure is Failure.NOT_SENT:
        return Outcome.CONNECT
    if monolith_status is not None and monolith_status >= 400:
        return Outcome.EXCUSED
    return Outcome.FAULT


def answered(status: int) -> Outcome:
    """The outcome of a service answer relayed to the client (not replayed anywhere)."""
    return Outcome.FAULT if status >= 500 else Outcome.SUCCESS


class Streak:
    """One domain's current run of failed service attempts."""

    __slots__ = ("callers", "connects", "length")

    def __init__(self) -> None:
        self.length = 0
        self.connects = 0
        self.callers: set[str] = set()

    def add(self, outcome: Outcome, caller: str, witnesses: int) -> None:
        """Count one failure (``CONNECT`` or ``FAULT``) by ``caller``."""
        self.length += 1
        if outcome is Outcome.CONNECT:
            self.connects += 1
        if len(self.callers) < witnesses:  # bounded: more than enough is enough
            self.callers.add(caller)

    def tripped(self, threshold: int, witnesses: int) -> bool:
        """Whether this streak is proof enough (see the module docstring)."""
        if threshold < 1 or self.length < threshold:
            return False
        return self.connects >= threshold or len(self.callers) >= witnesses

    def describe(self) -> str:
        """The streak for an audit reason: ``10 consecutive service failures (5 connect, 1 caller)``."""
        callers = len(self.callers)
        return (f"{self.length} consecutive service failures ({self.connects} connect, "
                f"{callers} caller{'' if callers == 1 else 's'})")


class ConsecutiveFailures:
    """Current streak of failed service attempts per domain."""

    __slots__ = ("streaks", "witnesses")

    def __init__(self, witnesses: int = WITNESSES) -> None:
        self.witnesses = max(1, witnesses)
        self.streaks: dict[str, Streak] = {}

    def record(self, domain: str, outcome: Outcome, caller: str = "") -> int:
        """Count one attempt's outcome; returns the streak's length after it (0 after a success)."""
        if outcome is Outcome.SUCCESS:
            streak = self.streaks.get(domain)
            if streak is not None and streak.length:
                del self.streaks[domain]
            return 0
        streak = self.streaks.get(domain)
        if outcome is Outcome.EXCUSED:
            return streak.length if streak is not None else 0
        if streak is None:
            streak = self.streaks[domain] = Streak()
        streak.add(outcome, caller, self.witnesses)
        return streak.length

    def tripped(self, domain: str, threshold: int) -> bool:
        """Whether ``domain``'s streak has reached ``threshold`` with enough proof (below 1: never)."""
        streak = self.streaks.get(domain)
        return streak is not None and streak.tripped(threshold, self.witnesses)

    def current(self, domain: str) -> Streak | None:
        """``domain``'s current streak, if any."""
        return self.streaks.get(domain)

    def clear(self, domain: str) -> None:
        """Forget ``domain``'s streak (after a rollback)."""
        self.streaks.pop(domain, None)
