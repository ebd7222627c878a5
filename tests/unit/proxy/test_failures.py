"""The consecutive-failure detector and the rollback it triggers (fakes, no database)."""

from __future__ import annotations

import dataclasses

from proxy.failures import ConsecutiveFailures
from proxy.rollback import AutoRollback
from proxy.routing import Flag


def test_streak_grows_with_failures_and_resets_on_success():
    streaks = ConsecutiveFailures()
    assert [streaks.record("movies", True) for _ in range(3)] == [1, 2, 3]
    assert streaks.record("movies", False) == 0
    assert streaks.record("movies", True) == 1


def test_trips_at_threshold_per_domain():
    streaks = ConsecutiveFailures()
    for _ in range(4):
        streaks.record("movies", True)
    streaks.record("users", True)
    assert not streaks.tripped("movies", 5)
    streaks.record("movies", True)
    assert streaks.tripped("movies", 5)
    assert not streaks.tripped("users", 5)
    assert not streaks.tripped("movies", 0), "a threshold below 1 never trips"


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
        super().__init__(FakeCache())
        self.triggered: list[str] = []

    def trigger(self, flag: Flag, reason: str) -> None:
        self.triggered.append(reason)
        self._running.add(flag.domain)


FLAG = Flag(domain="movies", mode="service", percent=100, rollback_consecutive=5, rollback_min_requests=1000)


def test_five_consecutive_service_failures_roll_back_before_the_window_has_data():
    rollback = RecordingRollback()
    for i in range(4):
        rollback.record("movies", "service", True, 100, FLAG)
        assert not rollback.triggered, f"tripped after {i + 1}"
    rollback.record("movies", "service", True, 100, FLAG)
    assert rollback.triggered == ["auto-rollback: 5 consecutive service failures"]


def test_a_success_between_failures_restarts_the_count():
    rollback = RecordingRollback()
    for _ in range(4):
        rollback.record("movies", "service", True, 100, FLAG)
    rollback.record("movies", "service", False, 100, FLAG)
    for _ in range(4):
        rollback.record("movies", "service", True, 100, FLAG)
    assert not rollback.triggered


def test_monolith_failures_and_disabled_auto_rollback_never_trip():
    rollback = RecordingRollback()
    for _ in range(10):
        rollback.record("movies", "monolith", True, 100, FLAG)
        rollback.record("movies", "service", True, 100, dataclasses.replace(FLAG, auto_rollback=False))
    assert not rollback.triggered


def test_the_windowed_error_rate_still_trips_a_flaky_service():
    rollback = RecordingRollback()
    flaky = dataclasses.replace(FLAG, rollback_min_requests=10, rollback_error_rate=0.5)
    for i in range(20):
        rollback.record("movies", "service", i % 2 == 0, 100, flaky)
    assert rollback.triggered and rollback.triggered[0].startswith("auto-rollback: error rate")
