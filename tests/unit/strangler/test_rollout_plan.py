"""The rollout plan state machine on the judge's verdicts (pure: readings and clock are plain values)."""

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

GATES = Gates(max_error_rate=0.05, max_p99_ratio=2.0, max_mismatch_rate=0.01, min_requests=50, min_shadow=20,
              max_inconclusive_s=60)
PLAN = Plan(domain="movies", steps=(1, 5, 100), hold_seconds=30, step_index=0, step_started_at=1000.0, gates=GATES)
FAST = {latency_bucket(0.008): 300, latency_bucket(0.010): 400, latency_bucket(0.012): 300}
SLOW = {latency_bucket(0.040): 300, latency_bucket(0.050): 400, latency_bucket(0.060): 300}
GREEN = Readings(service_ok=1000, service_err=1, monolith_ok=9000, monolith_err=5, service_latency=FAST,
                 monolith_latency={k: 9 * v for k, v in FAST.items()})


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


def test_every_step_carries_each_gates_verdict():
    decision = decide(PLAN, GREEN, 1031.0, "gradual")
    assert [(v.gate, v.outcome) for v in decision.verdicts] == [
        ("error_rate", "pass"), ("latency", "pass"), ("mismatch", "skipped")]
    assert decision.verdicts[0].n_service == 1001 and decision.verdicts[0].n_baseline == 9005


def test_rolls_back_on_a_red_error_rate_even_during_the_hold():
    decision = decide(PLAN, Readings(service_ok=60, service_err=40), 1005.0, "gradual")
    assert decision.action == "rollback" and "error rate" in decision.reason


def test_rolls_back_when_the_service_is_significantly_slower_even_during_the_hold():
    slow = Readings(service_ok=1000, monolith_ok=1000, service_latency=SLOW, monolith_latency=FAST)
    decision = decide(PLAN, slow, 1005.0, "gradual")
    assert decision.action == "rollback" and "latency" in decision.reason


def test_holds_on_an_inconclusive_gate_then_decides_on_the_estimate():
    few_baseline = Readings(service_ok=1000, monolith_ok=10, service_latency=SLOW,
                            monolith_latency={latency_bucket(0.010): 10})
    held = decide(PLAN, few_baseline, 1031.0, "gradual")
    assert held.action == "inconclusive" and "too few" in held.reason
    assert decide(PLAN, few_baseline, 1091.0, "gradual").action == "rollback", "estimate 5x slower: beyond the bound"
    similar = Readings(service_ok=1000, monolith_ok=10, service_latency=FAST,
                       monolith_latency={latency_bucket(0.010): 10})
    assert decide(PLAN, similar, 1091.0, "gradual").action == "advance", "estimate within the bound"


def test_latency_is_skipped_without_monolith_answers():
    decision = decide(PLAN, Readings(service_ok=1000, service_latency=SLOW), 1031.0, "gradual")
    assert decision.action == "advance" and "skipped" in decision.reason


def test_rolls_back_on_shadow_mismatches():
    mismatching = Readings(service_ok=1000, shadow_match=500, shadow_mismatch=100)
    assert decide(PLAN, mismatching, 1031.0, "gradual").action == "rollback"


def test_shadow_on_without_comparisons_is_inconclusive():
    decision = decide(PLAN, GREEN, 1031.0, "gradual", shadow_on=True)
    assert decision.action == "inconclusive" and "shadow" in decision.reason


def test_a_dry_run_gate_records_what_it_would_do_without_acting():
    dry = Plan(domain="movies", steps=(1, 5, 100), hold_seconds=30, step_started_at=1000.0,
               gates=Gates(max_error_rate=0.05, dry_run=("latency",)))
    slow = Readings(service_ok=1000, monolith_ok=1000, service_latency=SLOW, monolith_latency=FAST)
    decision = decide(dry, slow, 1031.0, "gradual")
    assert (decision.action, decision.would) == ("advance", "rollback")
    assert "dry-run: would rollback" in decision.reason
    latency = next(v for v in decision.verdicts if v.gate == "latency")
    assert latency.outcome == "fail" and latency.dry_run


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
    for bad in ({"nope": 1}, {"min_requests": -1}, {"max_error_rate": "x"}, {"alpha": "0.9"},
                {"dry_run": "latency,speed"}):
        with pytest.raises(InvalidInput):
            Gates.parse(bad)


def test_dry_run_accepts_all_or_gate_names_and_round_trips_through_storage():
    assert Gates.parse({"dry_run": "all"}).dry_run == ("error_rate", "latency", "mismatch")
    gates = Gates.parse({"dry_run": "latency, mismatch", "max_inconclusive_s": "30"})
    assert gates.dry_run == ("latency", "mismatch") and gates.max_inconclusive_s == 30
    assert Gates.stored(gates.as_dict()) == gates
    assert Gates.stored({"max_error_rate": 0.1}) == Gates(max_error_rate=0.1), "rows older than the judge"


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
    assert sum(got.service_latency.values()) == 100
    assert got.shadow_mismatch_rate == pytest.approx(0.1)


@pytest.mark.parametrize("index", [0, 1, 17, BUCKETS - 2])
def test_a_latency_falls_in_the_first_bucket_whose_bound_holds_it(index):
    bound = bucket_bound(index)
    assert latency_bucket(bound) == index
    assert latency_bucket(bound * 1.0001) == index + 1
    assert latency_bucket(0.0) == 0 and latency_bucket(3600.0) == BUCKETS - 1
