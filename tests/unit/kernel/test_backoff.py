"""The one back-off formula: doubling from the first pause, capped, and its schedule."""

from __future__ import annotations

import pytest

from eventing.consumer_retry import RetryPolicy
from kernel import backoff
from strangler import notify
from worker import relay


@pytest.mark.parametrize(("attempt", "pause"), [(0, 0.5), (1, 0.5), (2, 1.0), (3, 2.0), (7, 30.0), (10_000, 30.0)])
def test_the_pause_doubles_from_the_first_and_stops_at_the_cap(attempt, pause):
    assert backoff.delay(attempt, 0.5, 30.0) == pause


def test_the_schedule_lists_each_pause_until_the_cap():
    assert backoff.schedule(0.5, 30.0) == (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
    assert backoff.schedule(0.0, 5.0) == (0.0,)  # no pause at all (tests' fast policies)


def test_a_reconnect_loop_doubles_until_a_success_resets_it():
    pause = backoff.Backoff(0.1, 0.3)
    assert [pause.next() for _ in range(4)] == [0.1, 0.2, 0.3, 0.3]
    pause.reset()
    assert pause.next() == 0.1


def test_every_retry_loop_uses_the_formula():
    assert RetryPolicy(backoff_s=0.2, max_backoff_s=5.0).delay(3) == backoff.delay(3, 0.2, 5.0)
    assert notify.backoff(13, 2) == backoff.delay(13, 2, notify.MAX_BACKOFF_S) == 3600
    assert backoff.schedule(relay.BACKOFF_BASE_S, relay.BACKOFF_CAP_S) == relay.BACKOFF_SCHEDULE
