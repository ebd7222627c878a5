"""The judge on samples from known distributions: equal → pass, shifted → fail, too few → inconclusive."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest

from strangler import judge
from strangler.rollout_gates import bucket_bound, latency_bucket

LATENCY = {"bound": bucket_bound, "min_samples": 50, "alpha": 0.05, "max_p50_ratio": 1.5, "max_p99_ratio": 2.0}


def histogram(seed: int, n: int, median_s: float, sigma: float = 0.4) -> Counter:
    """``n`` log-normal latencies around ``median_s``, bucketed as the gateways bucket them."""
    rng = random.Random(seed)
    return Counter(latency_bucket(rng.lognormvariate(0, sigma) * median_s) for _ in range(n))


def brute_force_u(service: list[float], baseline: list[float]) -> float:
    """U by counting every pair: slower pairs 1, ties 0.5."""
    return sum(1.0 if s > b else 0.5 if s == b else 0.0 for s, b in itertools.product(service, baseline))


def test_mann_whitney_on_bins_counts_pairs_like_the_definition():
    rng = random.Random(7)
    service = [rng.randrange(6) for _ in range(40)]
    baseline = [rng.randrange(4) for _ in range(30)]
    got = judge.mann_whitney_binned(Counter(service), Counter(baseline))
    assert got.u == brute_force_u(service, baseline)
    assert got.effect == pytest.approx(got.u / (40 * 30))


def test_mann_whitney_p_value_matches_a_textbook_case():
    # Two groups with no ties, service entirely above: U = n1*n2, z = (U - n1 n2 / 2 - 0.5) / sqrt(n1 n2 (n+1) / 12)
    got = judge.mann_whitney_binned(Counter(range(10, 20)), Counter(range(10)))
    assert got.u == 100
    assert got.z == pytest.approx((100 - 50 - 0.5) / (100 * 21 / 12) ** 0.5)
    assert got.p_greater == pytest.approx(judge.normal_sf(got.z)) and got.p_greater < 0.001


def test_equal_latency_distributions_pass():
    verdict = judge.judge_latency(histogram(1, 2000, 0.010), histogram(2, 2000, 0.010), **LATENCY)
    assert verdict.outcome == "pass", verdict.summary
    assert verdict.n_service == verdict.n_baseline == 2000
    assert 0.45 < verdict.effect < 0.55 and verdict.p_value > 0.05


def test_a_service_twice_as_slow_fails_with_its_numbers():
    verdict = judge.judge_latency(histogram(1, 500, 0.020), histogram(2, 500, 0.010), **LATENCY)
    assert verdict.outcome == "fail", verdict.summary
    assert verdict.effect > 0.8 and verdict.p_value < 1e-6
    assert verdict.service / verdict.baseline > 1.5, "p50 ratio beyond the bound"
    assert "P(slower)" in verdict.summary and "p50" in verdict.summary


def test_a_slightly_slower_service_passes_when_within_the_allowed_ratio():
    verdict = judge.judge_latency(histogram(1, 5000, 0.0105), histogram(2, 5000, 0.010), **LATENCY)
    assert verdict.outcome == "pass" and verdict.within


def test_a_faster_service_passes():
    verdict = judge.judge_latency(histogram(1, 500, 0.005), histogram(2, 500, 0.010), **LATENCY)
    assert verdict.outcome == "pass" and verdict.effect < 0.2


def test_too_few_latency_samples_are_inconclusive():
    verdict = judge.judge_latency(histogram(1, 10, 0.050), histogram(2, 500, 0.010), **LATENCY)
    assert verdict.outcome == "inconclusive" and "too few" in verdict.summary
    assert verdict.within is False, "the estimate is kept for the inconclusive rule"


def test_latency_without_a_baseline_is_skipped():
    assert judge.judge_latency(histogram(1, 500, 0.01), Counter(), **LATENCY).outcome == "skipped"


def test_a_monolith_with_requests_but_no_answers_is_no_baseline_and_inconclusive():
    verdict = judge.judge_latency(histogram(1, 500, 0.01), Counter(), in_play=True, **LATENCY)
    assert verdict.outcome == "inconclusive" and "too few" in verdict.summary


ERRORS = {"min_samples": 50, "alpha": 0.05, "margin": 0.02}


def test_equal_error_rates_pass_once_the_sample_shows_it():
    verdict = judge.judge_error_rate(10, 5000, 11, 5000, **ERRORS)
    assert verdict.outcome == "pass", verdict.summary
    assert verdict.extra and dict(verdict.extra)["high"] <= 0.02


def test_a_higher_error_rate_fails():
    verdict = judge.judge_error_rate(60, 1000, 10, 1000, **ERRORS)
    assert verdict.outcome == "fail" and verdict.p_value < 0.001
    assert verdict.effect == pytest.approx(0.05)


def test_a_small_sample_of_equal_rates_is_inconclusive_not_pass():
    verdict = judge.judge_error_rate(0, 60, 0, 60, **ERRORS)
    assert verdict.outcome == "inconclusive", "0/60 on both sides cannot exclude a 2-point increase"
    assert verdict.within is True


def test_too_few_service_requests_are_inconclusive():
    assert judge.judge_error_rate(5, 10, 0, 1000, **ERRORS).outcome == "inconclusive"


def test_without_a_baseline_the_margin_is_the_bound():
    assert judge.judge_error_rate(40, 100, 0, 0, **ERRORS).outcome == "fail"
    assert judge.judge_error_rate(0, 400, 0, 0, **ERRORS).outcome == "pass"
    assert judge.judge_error_rate(2, 100, 0, 0, **ERRORS).outcome == "inconclusive"


MISMATCH = {"min_samples": 20, "alpha": 0.05, "max_rate": 0.01}


def test_mismatch_rate_pass_fail_inconclusive_skipped():
    assert judge.judge_mismatch(0, 1000, in_play=True, **MISMATCH).outcome == "pass"
    assert judge.judge_mismatch(50, 1000, in_play=True, **MISMATCH).outcome == "fail"
    assert judge.judge_mismatch(0, 30, in_play=True, **MISMATCH).outcome == "inconclusive"
    assert judge.judge_mismatch(0, 5, in_play=True, **MISMATCH).outcome == "inconclusive"
    assert judge.judge_mismatch(0, 0, in_play=False, **MISMATCH).outcome == "skipped"


@pytest.mark.parametrize("alpha", [0.5, 0.05, 0.01, 0.001])
def test_critical_values_invert_the_normal_tail(alpha):
    assert judge.normal_sf(judge.z_for(alpha)) == pytest.approx(alpha, rel=1e-6)


def test_wilson_interval_holds_the_estimate_and_is_sane_at_zero():
    lo, hi = judge.wilson(0, 100, 1.96)
    assert lo == 0.0 and 0.03 < hi < 0.04
    lo, hi = judge.wilson(50, 100, 1.96)
    assert lo < 0.5 < hi


def test_verdicts_serialise_to_plain_json():
    data = judge.judge_error_rate(60, 1000, 10, 1000, **ERRORS).as_dict()
    assert data["gate"] == "error_rate" and data["outcome"] == "fail" and isinstance(data["extra"], dict)


def test_the_gates_and_the_judge_read_a_histogram_the_same_way():
    from strangler.rollout_gates import percentile

    counts = {0: 0, 3: 50, 7: 45, 12: 5}  # an empty leading bucket must not be the answer
    assert percentile(counts, 0.5) == judge.quantile(counts, 0.5, bucket_bound) == bucket_bound(3)
    assert percentile(counts, 0.99) == bucket_bound(12)
    assert percentile(counts, 0.0) == bucket_bound(3)
    assert percentile({}, 0.99) is None
