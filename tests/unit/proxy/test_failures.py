"""Whose fault a failed service attempt was, the consecutive-failure streak and the rollback it
triggers (fakes, no database)."""

from __future__ import annotations

import dataclasses

import pytest

from proxy.failures import ConsecutiveFailures, Outcome, answered, judge
from proxy.retry import Failure
from proxy.rollback import AutoRollback
from proxy.routing import Flag

CONNECT, FAULT, EXCUSED, SUCCESS = Outcome.CONNECT, Outcome.FAULT, Outcome.EXCUSED, Outcome.SUCCESS


@pytest.mark.parametrize(("failure", "monolith", "outcome"), [
    (Failure.NOT_SENT, None, CONNECT),  # nothing reached the service: its own state
    (Failure.NOT_SENT, 200, CONNECT),
    (Failure.NOT_SENT, 400, CONNECT),  # whatever the monolith thinks of the request, the service was down
    (Failure.ANSWERED_5XX, 200, FAULT),  # the monolith served it: the service's fault
    (Failure.ANSWERED_5XX, 304, FAULT),
    (Failure.ANSWERED_5XX, 400, EXCUSED),  # the monolith refuses it too: the request's fault
    (Failure.ANSWERED_5XX, 404, EXCUSED),
    (Failure.ANSWERED_5XX, 500, EXCUSED),  # nobody can serve it
    (Failure.ANSWERED_5XX, 502, EXCUSED),  # the monolith could not be reached either
    (Failure.MAY_HAVE_REACHED, 200, FAULT),
    (Failure.MAY_HAVE_REACHED, 422, EXCUSED),
    (Failure.BODY_BROKEN, 200, FAULT),
    (Failure.ANSWERED_5XX, None, FAULT),  # nothing to compare with (a write, fallback off)
    (Failure.MAY_HAVE_REACHED, None, FAULT),
])
def test_judge(failure, monolith, outcome):
    assert judge(failure, monolith) is outcome


def test_relayed_answers_below_500_are_successes_4xx_included():
    assert [answered(s) for s in (200, 204, 400, 404, 422, 499, 500, 503)] == [SUCCESS] * 6 + [FAULT] * 2


def test_streak_grows_with_failures_and_resets_on_success():
    streaks = ConsecutiveFailures()
    assert [streaks.record("movies", CONNECT) for _ in range(3)] == [1, 2, 3]
    assert streaks.record("movies", SUCCESS) == 0
    assert streaks.record("movies", FAULT, "a") == 1


def test_excused_failures_neither_count_nor_reset():
    streaks = ConsecutiveFailures()
    streaks.record("movies", CONNECT)
    assert streaks.record("movies", EXCUSED, "a") == 1
    assert streaks.record("movies", CONNECT) == 2


def test_connect_failures_trip_at_threshold_per_domain():
    streaks = ConsecutiveFailures()
    for _ in range(4):
        streaks.record("movies", CONNECT, "anon:127.0.0.1")
    streaks.record("users", CONNECT)
    assert not streaks.tripped("movies", 5)
    streaks.record("movies", CONNECT, "anon:127.0.0.1")
    assert streaks.tripped("movies", 5)
    assert not streaks.tripped("users", 5)
    assert not streaks.tripped("movies", 0), "a threshold below 1 never trips"


def test_answered_failures_need_distinct_callers():
    streaks = ConsecutiveFailures(witnesses=3)
    for _ in range(100):
        streaks.record("movies", FAULT, "anon:203.0.113.9")
    assert not streaks.tripped("movies", 5), "one caller's failures are no proof"
    streaks.record("movies", FAULT, "user:1")
    assert not streaks.tripped("movies", 5)
    streaks.record("movies", FAULT, "user:2")
    assert streaks.tripped("movies", 5)


def test_a_mixed_streak_trips_on_enough_connect_failures():
    """Requests in flight at a crash fail after sending; the refused ones after them are proof."""
    streaks = ConsecutiveFailures(witnesses=3)
    for _ in range(3):
        streaks.record("movies", FAULT, "anon:127.0.0.1")
    for _ in range(4):
        streaks.record("movies", CONNECT, "anon:127.0.0.1")
    assert not streaks.tripped("movies", 5)
    streaks.record("movies", CONNECT, "anon:127.0.0.1")
    assert streaks.tripped("movies", 5)


class FakeCache:
    """Stands in for FlagCache: records local table swaps."""

    url = "postgresql://unused"

    def __init__(self) -> None:
        self.replaced: list[Flag] = []

    def replace_flag(self, flag: Flag, source: str) -> None:
        self.replaced.append(flag)


class RecordingRollback(AutoRollback):
    """AutoRollback whose trigger only records (no database write, no event loop)."""

    def __init__(self) -> None:
        super().__init__(FakeCache())  # type: ignore[arg-type]
        self.triggered: list[str] = []

    def trigger(self, flag: Flag, reason: str) -> None:
        self.triggered.append(reason)
        self._running.add(flag.domain)


FLAG = Flag(domain="movies", mode="service", percent=100, rollback_consecutive=5, rollback_min_requests=1000)


def test_five_consecutive_connect_failures_roll_back_before_the_window_has_data():
    rollback = RecordingRollback()
    for i in range(4):
        rollback.record("movies", CONNECT, 100, FLAG, "anon:127.0.0.1")
        assert not rollback.triggered, f"tripped after {i + 1}"
    rollback.record("movies", CONNECT, 100, FLAG, "anon:127.0.0.1")
    assert rollback.triggered == ["auto-rollback: 5 consecutive service failures (5 connect, 1 caller)"]


def test_five_failures_of_three_users_roll_back():
    rollback = RecordingRollback()
    for i in range(5):
        rollback.record("movies", FAULT, 100, FLAG, f"user:{i % 3}")
    assert rollback.triggered == ["auto-rollback: 5 consecutive service failures (0 connect, 3 callers)"]


def test_a_thousand_crafted_failures_of_one_anonymous_caller_never_roll_back():
    rollback = RecordingRollback()
    flaky = dataclasses.replace(FLAG, rollback_min_requests=10, rollback_error_rate=0.5)
    for i in range(1000):
        rollback.record("movies", FAULT if i % 4 else EXCUSED, 100 + i // 100, flaky, "anon:203.0.113.9")
    assert not rollback.triggered


def test_a_success_between_failures_restarts_the_count():
    rollback = RecordingRollback()
    for _ in range(4):
        rollback.record("movies", CONNECT, 100, FLAG)
    rollback.record("movies", SUCCESS, 100, FLAG)
    for _ in range(4):
        rollback.record("movies", CONNECT, 100, FLAG)
    assert not rollback.triggered


def test_disabled_auto_rollback_never_trips():
    rollback = RecordingRollback()
    for _ in range(10):
        rollback.record("movies", CONNECT, 100, dataclasses.replace(FLAG, auto_rollback=False))
    assert not rollback.triggered


def test_the_windowed_error_rate_still_trips_a_flaky_service():
    rollback = RecordingRollback()
    flaky = dataclasses.replace(FLAG, rollback_min_requests=10, rollback_error_rate=0.5)
    for i in range(20):
        rollback.record("movies", FAULT if i % 2 == 0 else SUCCESS, 100, flaky, f"user:{i}")
    assert rollback.triggered and rollback.triggered[0].startswith("auto-rollback: error rate")
