"""The gateway's sliding error window and the rate rule of the automatic rollback."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from proxy.failures import Outcome
from proxy.flagcache import FlagCache
from proxy.rollback import WINDOW_SECONDS, AutoRollback, ErrorWindow
from proxy.routing import Flag
from tests.support.fakes import FakeClock


def test_counts_attempts_and_errors_within_the_window():
    window, clock = ErrorWindow(), FakeClock()
    for outcome in (Outcome.SUCCESS, Outcome.FAULT, Outcome.CONNECT, Outcome.EXCUSED):
        window.add(clock.second(), outcome)
    clock.advance(3)
    window.add(clock.second(), Outcome.SUCCESS)
    assert window.counts(clock.second()) == (5, 2), "an excused failure is an attempt, not an error"


def test_seconds_older_than_the_window_drop_out():
    window, clock = ErrorWindow(), FakeClock()
    window.add(clock.second(), Outcome.FAULT)
    clock.advance(WINDOW_SECONDS - 1)
    assert window.counts(clock.second()) == (1, 1)
    clock.advance(1)
    assert window.counts(clock.second()) == (0, 0)


def test_a_reused_bucket_starts_from_zero():
    """Ten seconds later the same ring slot is a new second, not the sum of both."""
    window, clock = ErrorWindow(), FakeClock()
    window.add(clock.second(), Outcome.FAULT)
    clock.advance(WINDOW_SECONDS)
    window.add(clock.second(), Outcome.SUCCESS)
    assert window.counts(clock.second()) == (1, 0)


def test_clear_forgets_everything():
    window, clock = ErrorWindow(), FakeClock()
    window.add(clock.second(), Outcome.FAULT)
    window.clear()
    assert window.counts(clock.second()) == (0, 0)


class _RecordingRollback(AutoRollback):
    """The real decision; ``trigger`` records instead of swapping tables and writing PostgreSQL."""

    def __init__(self) -> None:
        super().__init__(cache=None)  # type: ignore[arg-type]  # trigger below never touches it
        self.triggered: list[tuple[str, str]] = []

    def trigger(self, flag: Flag, reason: str) -> None:
        self.triggered.append((flag.domain, reason))


@pytest.fixture
def gradual() -> Flag:
    # a streak rule must not fire first: only the rate rule is under test here
    flag = Flag(domain="movies", mode="gradual", percent=50)
    fields = {f.name for f in dataclasses.fields(Flag)}
    changes = {"rollback_error_rate": 0.5, "rollback_min_requests": 10}
    if "rollback_consecutive" in fields:
        changes["rollback_consecutive"] = 10_000
    return dataclasses.replace(flag, **changes)


def test_rate_rule_waits_for_the_minimum_number_of_requests(gradual):
    watcher, clock = _RecordingRollback(), FakeClock()
    for _ in range(9):
        watcher.record("movies", Outcome.FAULT, clock.second(), gradual, f"user:{_ % 3}")
    assert watcher.triggered == []
    watcher.record("movies", Outcome.FAULT, clock.second(), gradual, "user:9")
    assert [domain for domain, _ in watcher.triggered] == ["movies"]
    assert "error rate 1.00 over 10 requests" in watcher.triggered[0][1]


def test_rate_below_the_threshold_never_rolls_back(gradual):
    watcher, clock = _RecordingRollback(), FakeClock()
    for i in range(100):
        watcher.record("movies", Outcome.FAULT if i % 3 == 0 else Outcome.SUCCESS, clock.second(), gradual,
                       f"user:{i}")  # 34 % errors
        clock.advance(0.1)
    assert watcher.triggered == []


def test_flags_without_auto_rollback_or_on_the_monolith_are_ignored(gradual):
    watcher, clock = _RecordingRollback(), FakeClock()
    for i in range(50):
        watcher.record("movies", Outcome.FAULT, clock.second(), dataclasses.replace(gradual, auto_rollback=False),
                       f"user:{i}")
        watcher.record("movies", Outcome.FAULT, clock.second(), dataclasses.replace(gradual, mode="monolith"),
                       f"user:{i}")
    assert watcher.triggered == []


def test_failures_of_one_caller_never_trip_the_rate_rule(gradual):
    """One caller's crafted requests can fail every time on the service: no rollback."""
    watcher, clock = _RecordingRollback(), FakeClock()
    for _ in range(1000):
        watcher.record("movies", Outcome.FAULT, clock.second(), gradual, "anon:203.0.113.9")
        clock.advance(0.01)
    assert watcher.triggered == []


def test_failures_of_two_callers_are_not_enough_but_three_are(gradual):
    watcher, clock = _RecordingRollback(), FakeClock()
    for i in range(20):
        watcher.record("movies", Outcome.FAULT, clock.second(), gradual, f"user:{i % 2}")
    assert watcher.triggered == []
    watcher.record("movies", Outcome.FAULT, clock.second(), gradual, "user:7")
    assert [domain for domain, _ in watcher.triggered] == ["movies"]


def test_failures_the_monolith_shared_never_count(gradual):
    watcher, clock = _RecordingRollback(), FakeClock()
    for i in range(200):
        watcher.record("movies", Outcome.EXCUSED, clock.second(), gradual, f"user:{i}")
    assert watcher.triggered == []
    assert watcher.windows["movies"].counts(clock.second()) == (200, 0)


def test_connect_failures_need_no_witnesses(gradual):
    """A refused connection carried no request: whoever called, the service is down."""
    watcher, clock = _RecordingRollback(), FakeClock()
    for _ in range(10):
        watcher.record("movies", Outcome.CONNECT, clock.second(), gradual, "anon:127.0.0.1")
    assert [domain for domain, _ in watcher.triggered] == ["movies"]


class _NoDatabaseRollback(AutoRollback):
    """The real trigger (local table swap, window reset); only the database write is recorded."""

    def __init__(self, cache: FlagCache) -> None:
        super().__init__(cache)
        self.persisted: list[tuple[str, str]] = []

    async def _persist(self, flag: Flag, reason: str) -> None:
        self.persisted.append((flag.domain, reason))
        self._running.discard(flag.domain)


def test_a_tripped_rollback_swaps_the_local_table_at_once_and_persists_once():
    from kernel.settings import load_settings

    async def scenario() -> _NoDatabaseRollback:
        cache = FlagCache(load_settings({"GRADUAL_MIGRATION": "true", "MOVIES_MIGRATION_PERCENT": "40"}))
        watcher, clock = _NoDatabaseRollback(cache), FakeClock()
        flag = cache.table.flags["movies"]
        assert flag.mode == "gradual"
        for _ in range(flag.rollback_min_requests):
            watcher.record("movies", Outcome.CONNECT, clock.second(), cache.table.flags["movies"], "anon:10.0.0.1")
        assert cache.table.flags["movies"].mode == "monolith"  # before any database round trip
        assert cache.table.source == "local-rollback"
        # later failures see the monolith flag: no second rollback
        watcher.record("movies", Outcome.CONNECT, clock.second(), cache.table.flags["movies"], "anon:10.0.0.1")
        await asyncio.sleep(0)  # let the background write run
        return watcher

    watcher = asyncio.run(scenario())
    assert [domain for domain, _ in watcher.persisted] == ["movies"]
    assert watcher.persisted[0][1].startswith("auto-rollback: ")
