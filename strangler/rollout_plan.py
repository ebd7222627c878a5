"""The rollout plan state machine: given a plan, the judge's verdicts and the time, what to do next.

A plan moves one domain through ``steps`` (percent of users on the service, e.g. 1, 5, 10,
25, 50, 100), holding each step at least ``hold_seconds``. Pure: no I/O, no clock — the
runner (:mod:`strangler.rollouts`) feeds it and applies the :class:`Decision`.

Each gate is judged by :mod:`strangler.judge` — the service against the monolith over the
step's window — as ``pass``, ``fail``, ``inconclusive`` or ``skipped`` (not in play). A gate
listed in ``dry_run`` is judged and recorded but never acts: the decision says what it *would*
have done (:attr:`Decision.would`).

Order of judgement on every tick of a running plan:

1. the flag was sent back to the monolith by someone else (a gateway's auto-rollback, an
   operator) → ``stop``: the plan ends as rolled back, nothing is written to the flag;
2. a gate fails — judged as soon as the step has ``min_requests`` service requests, even
   before the hold time is over → ``rollback``;
3. the hold time is not over → ``hold``;
4. fewer than ``min_requests`` service requests in the step → ``wait`` (no traffic, no risk:
   the plan stays until traffic arrives, however long);
5. a gate is inconclusive → ``inconclusive`` (the plan holds the step) for at most
   ``max_inconclusive_s`` past the hold time; then the point estimates decide: every
   inconclusive gate's estimate within its bound → advance, any beyond it → ``rollback``;
6. otherwise → ``advance`` to the next step, or ``complete`` after the last one.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from kernel.errors import InvalidInput
from strangler import judge
from strangler.judge import GATES, Verdict
from strangler.rollout_gates import Readings, bucket_bound

STATES = ("running", "paused", "completed", "rolled_back", "aborted")
FINISHED = frozenset({"completed", "rolled_back", "aborted"})
#: The shares a plan walks through by default; also the console card's step buttons.
DEFAULT_STEPS = (1, 5, 10, 25, 50, 100)


@dataclass(frozen=True, slots=True)
class Gates:
    """Bounds of one plan's gates (see :mod:`strangler.judge` for how each is tested)."""

    max_error_rate: float = 0.02  # allowed increase over the monolith's error rate (its bound without one)
    max_p50_ratio: float = 1.5
    max_p99_ratio: float = 2.0
    max_mismatch_rate: float = 0.01
    min_requests: int = 50  # service requests (and latency samples per side) before a step is judged
    min_shadow: int = 20
    alpha: float = 0.05  # one-sided significance level of every test
    max_inconclusive_s: int = 300
    dry_run: tuple[str, ...] = ()  # gates judged and recorded, never acted on

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Gates:
        """Gates from JSON/form input; unknown names and bad values raise :class:`InvalidInput`."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise InvalidInput(f"unknown gate(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in raw.items():
            if name == "dry_run":
                values[name] = _dry_run(value)
                continue
            cast = int if name.startswith("min_") or name.endswith("_s") else float
            try:
                number = cast(value)
            except (TypeError, ValueError):
                raise InvalidInput(f"{name} must be a number") from None
            if isinstance(value, bool) or number < 0:
                raise InvalidInput(f"{name} must be a non-negative number")
            values[name] = number
        if not 0 < values.get("alpha", cls().alpha) <= 0.5:
            raise InvalidInput("alpha must be in (0, 0.5]")
        return cls(**values)

    @classmethod
    def stored(cls, raw: Mapping[str, Any]) -> Gates:
        """Gates as kept in ``rollout_plans.gates`` (older rows lack the newer bounds: defaults)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        values["dry_run"] = tuple(values.get("dry_run") or ())
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready bounds."""
        data = asdict(self)
        data["dry_run"] = list(self.dry_run)
        return data


def _dry_run(value: Any) -> tuple[str, ...]:
    """``"all"``/``True`` → every gate; a list or comma string of gate names; ``""``/``False`` → none."""
    if value is True or value == "all" or value == "on":
        return GATES
    if value in (False, None, ""):
        return ()
    names = value.split(",") if isinstance(value, str) else list(value)
    gates = tuple(dict.fromkeys(str(n).strip() for n in names if str(n).strip()))
    unknown = [g for g in gates if g not in GATES]
    if unknown:
        raise InvalidInput(f"dry_run names unknown gate(s): {', '.join(unknown)} (known: {', '.join(GATES)})")
    return gates


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
    """What the runner does: ``none`` | ``stop`` | ``rollback`` | ``hold`` | ``wait`` | ``inconclusive`` |
    ``advance`` | ``complete``; ``would`` is what it would have done without the dry-run gates."""

    action: str
    reason: str
    percent: int | None = None  # the flag percent to set (advance)
    verdicts: tuple[Verdict, ...] = ()
    would: str | None = None


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


def judge_step(readings: Readings, gates: Gates, *, shadow_on: bool) -> tuple[Verdict, ...]:
    """Every gate's verdict on one step's ``readings`` (``shadow_on``: the flag mirrors traffic)."""
    dry = set(gates.dry_run)
    verdicts = (
        judge.judge_error_rate(readings.service_err, readings.service_requests, readings.monolith_err,
                               readings.monolith_requests, min_samples=gates.min_requests, alpha=gates.alpha,
                               margin=gates.max_error_rate),
        judge.judge_latency(readings.service_latency, readings.monolith_latency, bound=bucket_bound,
                            min_samples=gates.min_requests, alpha=gates.alpha, max_p50_ratio=gates.max_p50_ratio,
                            max_p99_ratio=gates.max_p99_ratio, in_play=readings.monolith_requests > 0),
        judge.judge_mismatch(readings.shadow_mismatch, readings.shadow_compared, min_samples=gates.min_shadow,
                             alpha=gates.alpha, max_rate=gates.max_mismatch_rate, in_play=shadow_on),
    )
    return tuple(replace(v, dry_run=v.gate in dry) for v in verdicts)


def _move(plan: Plan, verdicts: tuple[Verdict, ...], now: float, *, enough: bool) -> tuple[str, str]:
    """``(action, reason)`` on ``verdicts`` (the ones that act: dry-run gates are left out by the caller)."""
    failed = [v for v in verdicts if v.outcome == judge.FAIL]
    if enough and failed:
        return "rollback", "red gate: " + "; ".join(v.summary for v in failed)
    elapsed = now - plan.step_started_at
    if elapsed < plan.hold_seconds:
        return "hold", f"holding {plan.percent}% ({elapsed:.0f}/{plan.hold_seconds} s)"
    gates = plan.gates
    if not enough:
        return "wait", f"data short at {plan.percent}%: too few service requests (need {gates.min_requests})"
    open_gates = [v for v in verdicts if v.outcome == judge.INCONCLUSIVE]
    if open_gates:
        waited = elapsed - plan.hold_seconds
        listed = "; ".join(v.summary for v in open_gates)
        if waited < gates.max_inconclusive_s:
            return "inconclusive", (f"inconclusive at {plan.percent}% ({waited:.0f}/{gates.max_inconclusive_s} s "
                                    f"past the hold): {listed}")
        beyond = [v for v in open_gates if v.within is False]
        if beyond:
            return "rollback", (f"still inconclusive after {gates.max_inconclusive_s} s and the estimate is beyond "
                                "the bound: " + "; ".join(v.summary for v in beyond))
        note = f"still inconclusive after {gates.max_inconclusive_s} s, estimates within the bounds: {listed}"
    else:
        note = "; ".join(v.summary for v in verdicts if v.outcome == judge.PASS) or "no gate in play"
    skipped = [v.summary for v in verdicts if v.outcome == judge.SKIPPED]
    summary = f"green at {plan.percent}%: {note}" + (f" (skipped: {'; '.join(skipped)})" if skipped else "")
    return ("complete" if plan.last_step else "advance"), summary


def decide(plan: Plan, readings: Readings, now: float, flag_mode: str, *, shadow_on: bool = False) -> Decision:
    """The next move of ``plan`` at time ``now`` given the current step's ``readings``."""
    if plan.state != "running":
        return Decision("none", f"plan is {plan.state}")
    if flag_mode == "monolith":
        return Decision("stop", "the flag was rolled back to the monolith outside the plan")
    verdicts = judge_step(readings, plan.gates, shadow_on=shadow_on)
    enough = readings.service_requests >= plan.gates.min_requests
    action, reason = _move(plan, tuple(v for v in verdicts if not v.dry_run), now, enough=enough)
    would = None
    if any(v.dry_run for v in verdicts):
        would_action, would_reason = _move(plan, verdicts, now, enough=enough)
        if would_action != action:
            would = would_action
            reason += f" [dry-run: would {would_action}: {would_reason}]"
    percent = plan.steps[plan.step_index + 1] if action == "advance" else None
    return Decision(action, reason, percent=percent, verdicts=verdicts, would=would)


@dataclass(frozen=True, slots=True)
class Draft:
    """A plan as asked for, checked but not started: what the console previews before confirming."""

    steps: tuple[int, ...]
    hold_seconds: int
    gates: Gates

    @classmethod
    def parse(cls, steps: Any = None, hold_seconds: Any = 60, gates: Mapping[str, Any] | None = None) -> Draft:
        """Validate raw input (form, JSON, CLI); bad values raise :class:`InvalidInput`."""
        parsed_steps = parse_steps(steps if steps is not None else DEFAULT_STEPS)
        try:
            hold = int(hold_seconds)
        except (TypeError, ValueError):
            raise InvalidInput("hold_seconds must be an integer") from None
        if hold < 1:
            raise InvalidInput("hold_seconds must be >= 1")
        return cls(parsed_steps, hold, Gates.parse(gates or {}))

    def schedule(self) -> list[dict[str, Any]]:
        """Each step with the earliest time (seconds from the start) the plan can leave it."""
        return [{"index": i, "percent": p, "earliest_done_s": (i + 1) * self.hold_seconds}
                for i, p in enumerate(self.steps)]

    @property
    def shortest_s(self) -> int:
        """The plan's shortest possible duration (every step green at its first chance)."""
        return len(self.steps) * self.hold_seconds
