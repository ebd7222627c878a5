"""The judge: is the service (canary) worse than the monolith (baseline) over the same window?

Each gated metric gets a proper test and a three-way verdict — ``pass``, ``fail`` or
``inconclusive`` — with the sample sizes, the effect size and the p-value behind it; a gate
whose metric has no data at all because it is not in play (no shadow traffic, no monolith
traffic at the 100 % step) is ``skipped``. Pure: numbers in, :class:`Verdict` out; no I/O, no
scipy (the exact formulas are a few lines each and keep the worker's imports small).

* **Latency** — Mann-Whitney U, one-sided (is the service slower?), on the gateways' latency
  histograms (:mod:`strangler.rollout_gates`: 48 buckets, each 25 % wider than the last). A
  request's latency is known to its bucket only, so samples in one bucket are ties: U counts
  them as half, and the variance carries the tie correction — the textbook treatment of
  grouped data. Normal approximation with a continuity correction (exact enough from the 20+
  samples per side the gate requires). A significant slowdown fails only when it also matters:
  the service's p50 or p99 above ``max_p50_ratio``/``max_p99_ratio`` times the monolith's
  (percentiles are bucket bounds, so a ratio moves in steps of 1.25). Effect size: the
  probability that a service request is slower than a monolith one (0.5 = no difference).
* **Error rate** — two-proportion z-test (service vs monolith, pooled, one-sided) with a
  Newcombe hybrid-score interval for the difference: ``fail`` when the service is significantly
  worse *and* the observed increase exceeds the allowed margin; ``pass`` when the interval's
  upper end is within the margin (the service is shown to be no worse than that); otherwise
  ``inconclusive``. Without monolith traffic in the window the service's rate is held to the
  margin itself (Wilson score interval).
* **Shadow mismatch rate** — the mismatched share of shadow comparisons against its bound,
  judged the same way on a Wilson score interval (the comparison is service-vs-monolith on the
  same request, so the baseline of a perfect rewrite is 0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

PASS, FAIL, INCONCLUSIVE, SKIPPED = "pass", "fail", "inconclusive", "skipped"
GATES = ("error_rate", "latency", "mismatch")


@dataclass(frozen=True, slots=True)
class Verdict:
    """One gate's verdict and the numbers behind it."""

    gate: str
    outcome: str  # pass | fail | inconclusive | skipped
    summary: str
    n_service: int = 0
    n_baseline: int = 0
    service: float | None = None  # the service's figure (rate, or p50 in seconds)
    baseline: float | None = None  # the baseline's figure (monolith rate or p50, or the bound)
    effect: float | None = None  # rate difference, or P(service slower) for latency
    p_value: float | None = None
    within: bool | None = None  # the point estimate is within the gate's bound (the inconclusive rule)
    dry_run: bool = False
    extra: tuple[tuple[str, float | None], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (stored with the plan and in the audit rows)."""
        data = asdict(self)
        data["extra"] = dict(self.extra)
        return data


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def z_for(alpha: float) -> float:
    """The one-sided critical value: ``normal_sf(z_for(a)) == a`` (bisection; alpha in (0, 0.5])."""
    lo, hi = 0.0, 40.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if normal_sf(mid) > alpha else (lo, mid)
    return (lo + hi) / 2


def wilson(k: int, n: int, z: float) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes in ``n`` trials (``(0, 1)`` without trials)."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True, slots=True)
class MannWhitney:
    """Mann-Whitney U of service vs baseline: ``u`` counts (service slower) pairs, ties as half."""

    u: float
    z: float
    p_greater: float  # one-sided p-value of "the service is slower"
    effect: float  # u / (n_service * n_baseline): P(service slower), 0.5 = no difference


def mann_whitney_binned(service: Mapping[int, int], baseline: Mapping[int, int]) -> MannWhitney:
    """Mann-Whitney U on two histograms over the same ordered bins (ties within a bin)."""
    n1, n2 = sum(service.values()), sum(baseline.values())
    if not n1 or not n2:
        raise ValueError("both samples must be non-empty")
    u = 0.0
    below = 0  # baseline samples in lower bins
    ties = 0.0
    for index in sorted(set(service) | set(baseline)):
        s, b = service.get(index, 0), baseline.get(index, 0)
        u += s * (below + 0.5 * b)
        below += b
        t = s + b
        ties += t * t * t - t
    n = n1 + n2
    mean = n1 * n2 / 2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:  # every sample in one bin: no evidence of any difference
        return MannWhitney(u, 0.0, 0.5, u / (n1 * n2))
    z = (u - mean - 0.5) / math.sqrt(variance)  # continuity correction towards the null
    return MannWhitney(u, z, normal_sf(z), u / (n1 * n2))


def quantile(counts: Mapping[int, int], q: float, bound: Any) -> float | None:
    """The ``q`` quantile of a histogram as its bin's upper bound (``bound(index)``)."""
    total = sum(counts.values())
    if not total:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index in sorted(counts):
        seen += counts[index]
        if seen >= rank:
            return bound(index)
    return bound(max(counts))


def judge_latency(service: Mapping[int, int], baseline: Mapping[int, int], *, bound: Any, min_samples: int,
                  alpha: float, max_p50_ratio: float, max_p99_ratio: float, in_play: bool = False) -> Verdict:
    """Is the service slower than the monolith (Mann-Whitney U) by more than the allowed ratios?

    ``in_play``: the monolith had requests in the window (so a missing baseline is a lack of
    answers, inconclusive, not a gate out of play).
    """
    n1, n2 = sum(service.values()), sum(baseline.values())
    s50, b50 = quantile(service, 0.5, bound), quantile(baseline, 0.5, bound)
    s99, b99 = quantile(service, 0.99, bound), quantile(baseline, 0.99, bound)
    extra = (("service_p99", s99), ("baseline_p99", b99), ("max_p50_ratio", max_p50_ratio),
             ("max_p99_ratio", max_p99_ratio))
    common = {"gate": "latency", "n_service": n1, "n_baseline": n2, "service": s50, "baseline": b50, "extra": extra}
    if n2 == 0 and not in_play:
        return Verdict(outcome=SKIPPED, summary="latency: no monolith answers in the window to compare with",
                       **common)
    ratios = (s50 / b50 if s50 and b50 else None, s99 / b99 if s99 and b99 else None)
    within = (ratios[0] is None or ratios[0] <= max_p50_ratio) and (ratios[1] is None or ratios[1] <= max_p99_ratio)
    figures = _latency_figures(s50, b50, s99, b99)
    if n1 < min_samples or n2 < min_samples:
        return Verdict(outcome=INCONCLUSIVE, within=within,
                       summary=f"latency: too few answers ({n1} service, {n2} monolith; need {min_samples} each)",
                       **common)
    mw = mann_whitney_binned(service, baseline)
    numbers = f"U={mw.u:.0f}, P(slower)={mw.effect:.2f}, p={mw.p_greater:.3g}; {figures}"
    if mw.p_greater < alpha and not within:
        outcome, summary = FAIL, f"latency: service slower beyond the allowed ratio ({numbers})"
    elif mw.p_greater < alpha:
        outcome, summary = PASS, f"latency: service slower but within the allowed ratio ({numbers})"
    else:
        outcome, summary = PASS, f"latency: no significant slowdown ({numbers})"
    return Verdict(outcome=outcome, summary=summary, effect=mw.effect, p_value=mw.p_greater, within=within,
                   **common)


def _latency_figures(s50: float | None, b50: float | None, s99: float | None, b99: float | None) -> str:
    def ms(value: float | None) -> str:
        return "—" if value is None else f"{value * 1000:.1f}"
    return f"p50 {ms(s50)} vs {ms(b50)} ms, p99 {ms(s99)} vs {ms(b99)} ms"


def judge_error_rate(service_err: int, service_n: int, baseline_err: int, baseline_n: int, *, min_samples: int,
                     alpha: float, margin: float) -> Verdict:
    """Is the service's error rate worse than the monolith's by more than ``margin``?"""
    z = z_for(alpha)
    rate = service_err / service_n if service_n else None
    common = {"gate": "error_rate", "n_service": service_n, "n_baseline": baseline_n, "service": rate}
    if service_n < min_samples:
        return Verdict(outcome=INCONCLUSIVE, within=rate is None or rate <= margin,
                       summary=f"service error rate: too few service requests ({service_n} < {min_samples})", **common)
    assert rate is not None
    if baseline_n < min_samples:  # no baseline in the window (e.g. the 100 % step): the margin is the bound
        lo, hi = wilson(service_err, service_n, z)
        numbers = f"{service_err}/{service_n} = {rate:.4f}, interval {lo:.4f}..{hi:.4f}, bound {margin:g}"
        outcome = FAIL if lo > margin else PASS if hi <= margin else INCONCLUSIVE
        return Verdict(outcome=outcome, summary=f"service error rate{_word(outcome)} (no monolith baseline; {numbers})",
                       baseline=margin, effect=rate, p_value=_one_sample_p(service_err, service_n, margin),
                       within=rate <= margin, extra=(("low", lo), ("high", hi), ("margin", margin)),
                       **common)
    base = baseline_err / baseline_n
    diff = rate - base
    pooled = (service_err + baseline_err) / (service_n + baseline_n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / service_n + 1 / baseline_n))
    p_value = normal_sf(diff / se) if se > 0 else (0.0 if diff > 0 else 1.0)
    # Newcombe's hybrid score interval for the difference (method 10): sane at 0 errors.
    l1, u1 = wilson(service_err, service_n, z)
    l2, u2 = wilson(baseline_err, baseline_n, z)
    low = diff - math.sqrt((rate - l1) ** 2 + (u2 - base) ** 2)
    high = diff + math.sqrt((u1 - rate) ** 2 + (base - l2) ** 2)
    if p_value < alpha and diff > margin:
        outcome = FAIL
    elif high <= margin:
        outcome = PASS
    else:
        outcome = INCONCLUSIVE
    numbers = (f"service {service_err}/{service_n} = {rate:.4f} vs monolith {baseline_err}/{baseline_n} = "
               f"{base:.4f}, increase {diff:+.4f} (interval {low:+.4f}..{high:+.4f}), p={p_value:.3g}, "
               f"margin {margin:g}")
    return Verdict(outcome=outcome, summary=f"service error rate{_word(outcome)} ({numbers})", baseline=base,
                   effect=diff, p_value=p_value, within=diff <= margin,
                   extra=(("low", low), ("high", high), ("margin", margin)), **common)


def judge_mismatch(mismatched: int, compared: int, *, min_samples: int, alpha: float, max_rate: float,
                   in_play: bool) -> Verdict:
    """Is the shadow mismatch rate above ``max_rate`` (Wilson score interval)?"""
    rate = mismatched / compared if compared else None
    common = {"gate": "mismatch", "n_service": compared, "service": rate, "baseline": max_rate}
    if not compared and not in_play:
        return Verdict(outcome=SKIPPED, summary="shadow mismatch: shadow traffic is off", **common)
    if compared < min_samples:
        return Verdict(outcome=INCONCLUSIVE, within=rate is None or rate <= max_rate,
                       summary=f"shadow mismatch: too few comparisons ({compared} < {min_samples})", **common)
    assert rate is not None
    lo, hi = wilson(mismatched, compared, z_for(alpha))
    outcome = FAIL if lo > max_rate else PASS if hi <= max_rate else INCONCLUSIVE
    numbers = f"{mismatched}/{compared} = {rate:.4f}, interval {lo:.4f}..{hi:.4f}, bound {max_rate:g}"
    return Verdict(outcome=outcome, summary=f"shadow mismatch rate{_word(outcome)} ({numbers})", effect=rate,
                   p_value=_one_sample_p(mismatched, compared, max_rate), within=rate <= max_rate,
                   extra=(("low", lo), ("high", hi)), **common)


def _one_sample_p(k: int, n: int, bound: float) -> float:
    """One-sided p-value of "the rate is above ``bound``" (score test)."""
    if bound <= 0:
        return 0.0 if k else 1.0
    if bound >= 1:
        return 1.0
    return normal_sf((k / n - bound) / math.sqrt(bound * (1 - bound) / n))


def _word(outcome: str) -> str:
    return {FAIL: " above the allowed bound", PASS: " within the bound", INCONCLUSIVE: " undecided"}[outcome]
