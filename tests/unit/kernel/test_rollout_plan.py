"""The rollout plan state machine and its gates (pure: readings and clock are plain values)."""

from __future__ import annotations

import pytest

from kernel.errors import InvalidInput
from strangler.rollout_gates import (
    BUCKETS,
    Readings,
    bucket_bound,
    latency_bucket,
    latency_field,
    readings,
    shadow_field,
)
from strangler.rollout_plan import Gates, Plan, decide, parse_steps

GATES = Gates(max_error_rate=0.05, max_p99_ratio=2.0, max_mismatch_rate=0.01, min_requests=50, min_shadow=20)
PLAN = Plan(domain="movies", steps=(1, 5, 100), hold_seconds=30, step_index=0, step_started_at=1000.0, gates=GATES)
GREEN = Readings(service_ok=100, service_err=1)


def test_holds_until_the_hold_time_is_over():
    assert decide(PLAN, GREEN, 1010.0, "gradual").action == "hold"


def test_advances_to_the_next_step_when_green_after_the_hold():
    decision = decide(PLAN, GREEN, 1031.0, "gradual")
    assert (decision.action, decision.percent) == ("advance", 5)


def test_completes_after_the_last_step():
    last = Plan(domain="movies", steps=(1, 5, 100), hold_seconds=30, step_index=2, step_started_at=1000.0,
                gates=GATES)
    assert decide(last, GREEN, 1031.0, "gradual").action == "complete"


def test_waits_when_data_is_short():
    decision = decide(PLAN, Readings(service_ok=10), 1031.0, "gradual")
    assert decision.action == "wait" and "data short" in decision.reason


def test_rolls_back_on_a_red_error_rate_even_during_the_hold():
    decision = decide(PLAN, Readings(service_ok=60, service_err=40), 1005.0, "gradual")
    assert decision.action == "rollback" and "error rate" in decision.reason


def test_rolls_back_when_service_p99_is_far_above_the_monolith():
    slow = Readings(service_ok=100, service_p99=0.5, monolith_p99=0.01, monolith_samples=100)
    assert decide(PLAN, slow, 1031.0, "gradual").action == "rollback"


def test_p99_gate_is_skipped_without_monolith_answers():
    slow = Readings(service_ok=100, service_p99=0.5, monolith_p99=0.01, monolith_samples=3)
    decision = decide(PLAN, slow, 1031.0, "gradual")
    assert decision.action == "advance" and "p99" in decision.reason


def test_rolls_back_on_shadow_mismatches():
    mismatching = Readings(service_ok=100, shadow_match=50, shadow_mismatch=10)
    assert decide(PLAN, mismatching, 1031.0, "gradual").action == "rollback"


def test_stops_when_the_flag_was_rolled_back_elsewhere():
    assert decide(PLAN, GREEN, 1031.0, "monolith").action == "stop"


@pytest.mark.parametrize("state", ["paused", "completed", "rolled_back", "aborted"])
def test_only_running_plans_move(state):
    plan = Plan(domain="movies", steps=(1, 5), hold_seconds=1, state=state, gates=GATES)
    assert decide(plan, GREEN, 1e9, "gradual").action == "none"


def test_steps_are_parsed_and_checked():
    assert parse_steps("1, 5,10,100") == (1, 5, 10, 100)
    for bad in ("", "5,1", "0,10", "10,101", "a"):
        with pytest.raises(InvalidInput):
            parse_steps(bad)


def test_gates_parse_rejects_unknown_and_negative_values():
    assert Gates.parse({"max_error_rate": "0.1", "min_requests": "5"}).min_requests == 5
    for bad in ({"nope": 1}, {"min_requests": -1}, {"max_error_rate": "x"}):
        with pytest.raises(InvalidInput):
            Gates.parse(bad)


def test_readings_sum_gateway_counters_over_seconds():
    hashes = [
        {b"movies:service:ok": b"90", b"movies:service:err": b"10", b"users:service:err": b"99",
         latency_field("movies", "service", 0.010).encode(): b"99",
         latency_field("movies", "service", 0.200).encode(): b"1",
         latency_field("movies", "monolith", 0.005).encode(): b"50"},
        {b"movies:service:ok": b"100", shadow_field("movies", "match").encode(): b"9",
         shadow_field("movies", "mismatch").encode(): b"1"},
    ]
    got = readings("movies", hashes)
    assert (got.service_ok, got.service_err) == (190, 10)
    assert got.service_error_rate == pytest.approx(0.05)
    assert 0.010 <= got.service_p99 < 0.0125, "p99 is the bucket bound just above 10 ms"
    assert 0.005 <= got.monolith_p99 < 0.00625 and got.monolith_samples == 50
    assert got.shadow_mismatch_rate == pytest.approx(0.1)


@pytest.mark.parametrize("index", [0, 1, 17, BUCKETS - 2])
def test_a_latency_falls_in_the_first_bucket_whose_bound_holds_it(index):
    bound = bucket_bound(index)
    assert latency_bucket(bound) == index
    assert latency_bucket(bound * 1.0001) == index + 1
    assert latency_bucket(0.0) == 0 and latency_bucket(3600.0) == BUCKETS - 1
