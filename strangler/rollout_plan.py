"""The rollout plan state machine: given a plan, the gates' readings and the time, what to do next.

A plan moves one domain through ``steps`` (percent of users on the service, e.g. 1, 5, 10,
25, 50, 100), holding each step at least ``hold_seconds``. Pure: no I/O, no clock — the
runner (:mod:`strangler.rollouts`) feeds it and applies the :class:`Decision`.

Order of judgement on every tick of a running plan:

1. the flag was sent back to the monolith by someone else (a gateway's auto-rollback, an
   operator) → ``stop``: the plan ends as rolled back, nothing is written to the flag;
2. a gate is red — judged as soon as the step has ``min_requests`` service requests, even
   before the hold time is over → ``rollback``;
3. the hold time is not over → ``hold``;
4. not enough data to judge (fewer than ``min_requests`` service requests in the step) →
   ``wait`` (the plan stays, paused by the lack of data, until traffic arrives);
5. otherwise green → ``advance`` to the next step, or ``complete`` after the last one.

Gates (each skipped while it lacks data, which the reason says):

* service error rate (connect errors, timeouts, 5xx) ≤ ``max_error_rate``;
* service p99 ≤ ``max_p99_ratio`` times the monolith's p99 for the same domain (needs
  ``min_requests`` monolith answers in the window);
* shadow mismatch rate ≤ ``max_mismatch_rate`` (needs ``min_shadow`` comparisons).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from kernel.errors import InvalidInput
from strangler.rollout_gates import Readings

STATES = ("running", "paused", "completed", "rolled_back", "aborted")
FINISHED = frozenset({"completed", "rolled_back", "aborted"})
DEFAULT_STEPS = (1, 5, 10, 25, 50, 100)


@dataclass(frozen=True, slots=True)
class Gates:
    """Thresholds of one plan."""

    max_error_rate: float = 0.02
    max_p99_ratio: float = 2.0
    max_mismatch_rate: float = 0.01
    min_requests: int = 50
    min_shadow: int = 20

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Gates:
        """Gates from JSON/form input; unknown names and bad values raise :class:`InvalidInput`."""
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise InvalidInput(f"unknown gate(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in raw.items():
            cast = int if name.startswith("min_") else float
            try:
                number = cast(value)
            except (TypeError, ValueError):
                raise InvalidInput(f"{name} must be a number") from None
            if isinstance(value, bool) or number < 0:
                raise InvalidInput(f"{name} must be a non-negative number")
            values[name] = number
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready thresholds."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Plan:
    """One domain's plan as stored (``rollout_plans`` row)."""

    domain: str
    steps: tuple[int, ...]
    hold_seconds: int
    step_index: int = 0
    state: str = "running"
    step_started_at: float = 0.0
    gates: Gates = Gates()

    @property
    def percent(self) -> int:
        """The current step's percent."""
        return self.steps[self.step_index]

    @property
    def last_step(self) -> bool:
        """Whether the current step is the plan's last."""
        return self.step_index == len(self.steps) - 1


@dataclass(frozen=True, slots=True)
class Decision:
    """What the runner does: ``none`` | ``stop`` | ``rollback`` | ``hold`` | ``wait`` | ``advance`` | ``complete``."""

    action: str
    reason: str
    percent: int | None = None  # the flag percent to set (advance)


def parse_steps(raw: str | list[int] | tuple[int, ...]) -> tuple[int, ...]:
    """``"1,5,10,100"`` (or a list) as strictly increasing percents in 1..100."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    try:
        steps = tuple(int(str(item).strip()) for item in items if str(item).strip())
    except ValueError:
        raise InvalidInput("steps must be integers, e.g. 1,5,10,25,50,100") from None
    if not steps:
        raise InvalidInput("steps must not be empty")
    if any(not 1 <= s <= 100 for s in steps) or any(b <= a for a, b in itertools.pairwise(steps)):
        raise InvalidInput("steps must be strictly increasing percents in 1..100")
    return steps


def red_gates(readings: Readings, gates: Gates) -> tuple[list[str], list[str]]:
    """``(red, skipped)`` gate descriptions for ``readings``."""
    red: list[str] = []
    skipped: list[str] = []
    if readings.service_error_rate > gates.max_error_rate:
        red.append(f"service error rate {readings.service_error_rate:.3f} > {gates.max_error_rate:g} "
                   f"({readings.service_err}/{readings.service_requests})")
    if readings.service_p99 is None or readings.monolith_p99 is None \
            or readings.monolith_samples < gates.min_requests:
        skipped.append("p99 ratio (too few monolith answers)")
    elif readings.service_p99 > gates.max_p99_ratio * readings.monolith_p99:
        red.append(f"service p99 {readings.service_p99 * 1000:.1f} ms > {gates.max_p99_ratio:g} x monolith p99 "
                   f"{readings.monolith_p99 * 1000:.1f} ms")
    if readings.shadow_compared < max(1, gates.min_shadow):
        skipped.append("shadow mismatch (too few comparisons)")
    elif readings.shadow_mismatch_rate > gates.max_mismatch_rate:
        red.append(f"shadow mismatch rate {readings.shadow_mismatch_rate:.3f} > {gates.max_mismatch_rate:g}")
    return red, skipped


def decide(plan: Plan, readings: Readings, now: float, flag_mode: str) -> Decision:
    """The next move of ``plan`` at time ``now`` given the current step's ``readings``."""
    if plan.state != "running":
        return Decision("none", f"plan is {plan.state}")
    if flag_mode == "monolith":
        return Decision("stop", "the flag was rolled back to the monolith outside the plan")
    gates = plan.gates
    enough = readings.service_requests >= gates.min_requests
    if enough:
        red, skipped = red_gates(readings, gates)
        if red:
            return Decision("rollback", "red gate: " + "; ".join(red))
    elapsed = now - plan.step_started_at
    if elapsed < plan.hold_seconds:
        return Decision("hold", f"holding {plan.percent}% ({elapsed:.0f}/{plan.hold_seconds} s)")
    if not enough:
        return Decision("wait", f"data short at {plan.percent}%: {readings.service_requests} service requests "
                                f"< {gates.min_requests}")
    note = f" (skipped: {', '.join(skipped)})" if skipped else ""
    summary = (f"green at {plan.percent}%: error rate {readings.service_error_rate:.3f} over "
               f"{readings.service_requests} requests{note}")
    if plan.last_step:
        return Decision("complete", summary)
    return Decision("advance", summary, percent=plan.steps[plan.step_index + 1])
