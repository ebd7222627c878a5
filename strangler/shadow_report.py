"""What the shadow comparisons of a domain say, read from the gateways' Redis counters.

:func:`shadow_window` — comparisons and mismatches over the last seconds, from the per-second
``traffic:<second>`` fields every gateway flushes (the rollout gates' source, kept 10 minutes).
:func:`read_counts` / :func:`read_noise` — per-minute path counters (kept a day) and the A/A
noise (kept a week), for the report, the console and the CLI.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis

from strangler import shadow_contract as contract
from strangler.rollout_gates import shadow_field
from strangler.shadow_diff import Rule, suggest_rules

#: The per-second counters live this long (``proxy.metrics.TRAFFIC_TTL``).
MAX_WINDOW_SECONDS = 600


@dataclass(frozen=True, slots=True)
class ShadowWindow:
    """One domain's shadow comparisons over a window, summed over every gateway."""

    matches: int
    mismatches: int
    errors: int

    @property
    def comparisons(self) -> int:
        """Comparisons that got an answer from both sides (errors excluded)."""
        return self.matches + self.mismatches

    @property
    def mismatch_rate(self) -> float:
        """Mismatched share of the comparisons (0 without comparisons)."""
        return self.mismatches / self.comparisons if self.comparisons else 0.0


def shadow_window(client: redis.Redis, domain: str, seconds: int, now: float | None = None) -> ShadowWindow:
    """Comparisons of ``domain`` in the last ``seconds`` (at most 600), noise-only differences counting as matches."""
    end = int(time.time() if now is None else now)
    span = max(1, min(int(seconds), MAX_WINDOW_SECONDS))
    names = [shadow_field(domain, result) for result in contract.RESULTS]
    pipe = client.pipeline(transaction=False)
    for second in range(end - span + 1, end + 1):
        pipe.hmget(f"traffic:{second}", names)
    totals = [0, 0, 0]
    for values in pipe.execute():
        for i, value in enumerate(values):
            totals[i] += int(value or 0)
    return ShadowWindow(*totals)


def read_counts(client: redis.Redis, domain: str, minutes: int, now: float | None = None) -> contract.Counts:
    """Per-minute counters of ``domain`` summed over the last ``minutes`` (the current minute included)."""
    end = int(time.time() if now is None else now) // 60
    pipe = client.pipeline(transaction=False)
    for minute in range(end - max(1, minutes) + 1, end + 1):
        pipe.hgetall(contract.counts_key(domain, minute))
    return contract.sum_counts(pipe.execute())


@dataclass(frozen=True)
class Noise:
    """What A/A calibration learned for a domain."""

    pairs: int
    hits: dict[tuple[str, str], int]

    @property
    def suggestions(self) -> list[Rule]:
        """Rules that would silence the noise (the gateways already apply them)."""
        return suggest_rules(self.hits)


def read_noise(client: redis.Redis, domain: str) -> Noise:
    """The A/A noise learned for ``domain`` so far."""
    pairs, hits = contract.parse_noise(client.hgetall(contract.noise_key(domain)))
    return Noise(pairs, hits)
