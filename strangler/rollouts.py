"""Rollout plans: start, pause, resume, abort, status, and the runner's tick.

Plans live in ``rollout_plans`` (one row per domain, migration 0003). Operators act through
the console (``control_plane/rollouts.py``) or ``cinemaabyss rollout``; a Celery beat task
calls :func:`tick` every second. The tick takes a PostgreSQL advisory lock for the length
of its transaction, so however many beat or worker processes run, one tick at a time
decides; each running plan is judged by the pure state machine
(:mod:`strangler.rollout_plan`) on the gateways' own counters for the current
step (:mod:`strangler.rollout_gates`, read from Redis).

Every tick stores the judge's verdicts on the plan row (``judgement``: each gate's outcome with
its sample sizes, effect size and p-value). Every decision that changes something — and the
first ``wait``, ``inconclusive`` or dry-run disagreement of a stretch — is a ``flag_audit`` row
(``rollout.<action>``, the plan before/after with the judgement, the reason), so a plan's
step timeline is its audit rows (:func:`timeline`). Flag moves go through
:func:`strangler.flags.set_flag` (flag row + audit + NOTIFY), actor
``rollout:<who started it>``.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis
from sqlalchemy import text
from sqlalchemy.engine import Connection

from kernel.db import get_engine
from kernel.errors import Conflict, NotFound
from kernel.settings import Settings
from strangler import flags
from strangler.rollout_gates import Readings, readings
from strangler.rollout_plan import FINISHED, Decision, Draft, Gates, Plan, decide

#: ``pg_try_advisory_xact_lock`` key of the runner ("rollout" in ASCII).
RUNNER_LOCK_ID = 0x726F6C6C6F7574
#: Counters are kept 600 s in Redis; never look further back.
MAX_WINDOW_S = 590
RUNNER_ACTOR = "rollout-runner"

_SELECT = ("SELECT domain, steps, hold_seconds, step_index, state, extract(epoch FROM step_started_at)::float8, "
           "gates, last_decision, created_by, judgement, extract(epoch FROM created_at)::float8 FROM rollout_plans")


_SET_STATE = "UPDATE rollout_plans SET state = :s, last_decision = :r, updated_at = now() WHERE domain = :d"
_RESTART = ("UPDATE rollout_plans SET state = :s, last_decision = :r, updated_at = now(), step_started_at = now() "
            "WHERE domain = :d")


def _plan(row: Any) -> Plan:
    return Plan(domain=row[0], steps=tuple(row[1]), hold_seconds=row[2], step_index=row[3], state=row[4],
                step_started_at=row[5], gates=Gates.stored(row[6]))


def _public(row: Any) -> dict[str, Any]:
    plan = _plan(row)
    return {"domain": plan.domain, "steps": list(plan.steps), "hold_seconds": plan.hold_seconds,
            "step_index": plan.step_index, "percent": plan.percent, "state": plan.state,
            "step_started_at": plan.step_started_at, "gates": plan.gates.as_dict(), "last_decision": row[7],
            "created_by": row[8], "judgement": row[9], "created_at": row[10]}


def _audit(conn: Connection, actor: str, action: str, domain: str, before: dict | None, after: dict | None,
           reason: str) -> None:
    conn.execute(text("INSERT INTO flag_audit (actor, action, domain, before, after, reason) "
                      "VALUES (:actor, :action, :domain, CAST(:before AS jsonb), CAST(:after AS jsonb), :reason)"),
                 {"actor": actor[:100], "action": f"rollout.{action}", "domain": domain,
                  "before": json.dumps(before), "after": json.dumps(after), "reason": reason})


def _load(conn: Connection, domain: str, *, lock: bool = False) -> Any:
    return conn.execute(text(_SELECT + " WHERE domain = :d" + (" FOR UPDATE" if lock else "")),
                        {"d": domain}).fetchone()


def get_plan(domain: str, *, url: str | None = None) -> dict[str, Any] | None:
    """``domain``'s plan (any state), or ``None``."""
    flags.validate_domain(domain)
    with get_engine(url).connect() as conn:
        row = _load(conn, domain)
    return _public(row) if row is not None else None


def start(domain: str, actor: str, *, steps: Any = None, hold_seconds: Any = 60, gates: dict[str, Any] | None = None,
          reason: str = "", url: str | None = None, settings: Settings | None = None) -> dict[str, Any]:
    """Start a plan for ``domain`` and move its flag to the first step at once.

    Refused (:class:`Conflict`) while another plan of the domain is running or paused.
    ``reason`` (the operator's why) goes into the audit row.
    """
    flags.validate_domain(domain)
    draft = Draft.parse(steps, hold_seconds, gates)
    with get_engine(url).begin() as conn:
        existing = _load(conn, domain, lock=True)
        if existing is not None and existing[4] not in FINISHED:
            raise Conflict(f"{domain} already has a {existing[4]} plan; abort it first")
        conn.execute(text("DELETE FROM rollout_plans WHERE domain = :d"), {"d": domain})
        conn.execute(text("INSERT INTO rollout_plans (domain, steps, hold_seconds, gates, created_by, last_decision) "
                          "VALUES (:d, :steps, :hold, CAST(:gates AS jsonb), :by, 'started')"),
                     {"d": domain, "steps": list(draft.steps), "hold": draft.hold_seconds,
                      "gates": json.dumps(draft.gates.as_dict()), "by": actor[:100]})
        plan = _public(_load(conn, domain))
        what = f"steps {draft.steps}, hold {draft.hold_seconds} s"
        _audit(conn, actor, "started", domain, None, plan, f"{reason.strip()[:200]} ({what})" if reason.strip()
               else what)
    flags.set_flag(domain, {"mode": "gradual", "percent": draft.steps[0]}, f"rollout:{actor}",
                   f"rollout step 1/{len(draft.steps)}: {draft.steps[0]}%", url=url, settings=settings)
    return plan


def timeline(domain: str, *, url: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The current plan's audit rows, oldest first: each move with the judgement behind it."""
    flags.validate_domain(domain)
    with get_engine(url).connect() as conn:
        rows = conn.execute(text(
            "SELECT a.id, a.at, a.actor, a.action, a.before, a.after, a.reason FROM flag_audit a "
            "JOIN rollout_plans p ON p.domain = a.domain AND a.at >= p.created_at "
            "WHERE a.domain = :d AND a.action LIKE 'rollout.%' ORDER BY a.id LIMIT :n"),
            {"d": domain, "n": limit}).fetchall()
    return [{"id": r[0], "at": r[1].isoformat(), "actor": r[2], "action": r[3].removeprefix("rollout."),
             "percent": (r[4] or r[5] or {}).get("percent"), "judgement": (r[5] or {}).get("judgement"),
             "reason": r[6]} for r in rows]


def _transition(domain: str, actor: str, allowed: tuple[str, ...], state: str, action: str, reason: str,
                url: str | None, *, restart_hold: bool = False) -> dict[str, Any]:
    flags.validate_domain(domain)
    with get_engine(url).begin() as conn:
        row = _load(conn, domain, lock=True)
        if row is None:
            raise NotFound(f"{domain} has no rollout plan")
        if row[4] not in allowed:
            raise Conflict(f"{domain}'s plan is {row[4]}, not {' or '.join(allowed)}")
        before = _public(row)
        # the statement is one of two constants; every value is bound
        conn.execute(text(_RESTART if restart_hold else _SET_STATE), {"s": state, "r": reason, "d": domain})
        after = _public(_load(conn, domain))
        _audit(conn, actor, action, domain, before, after, reason)
    return after


def pause(domain: str, actor: str, *, url: str | None = None) -> dict[str, Any]:
    """Stop advancing (the flag stays where it is)."""
    return _transition(domain, actor, ("running",), "paused", "paused", f"paused by {actor}", url)


def resume(domain: str, actor: str, *, url: str | None = None) -> dict[str, Any]:
    """Continue a paused plan; the current step's hold time starts again."""
    return _transition(domain, actor, ("paused",), "running", "resumed", f"resumed by {actor}", url,
                       restart_hold=True)


def abort(domain: str, actor: str, *, url: str | None = None, settings: Settings | None = None) -> dict[str, Any]:
    """End the plan and send the domain back to the monolith."""
    plan = _transition(domain, actor, ("running", "paused"), "aborted", "aborted", f"aborted by {actor}", url)
    flags.rollback(domain, f"rollout:{actor}", "rollout aborted", url=url, settings=settings)
    return plan


def read_readings(client: redis.Redis, domain: str, since: float, now: float) -> Readings:
    """The gateways' counters of ``domain`` for the whole seconds in ``[since, now)``."""
    first = max(int(since) + 1, int(now) - MAX_WINDOW_S)  # the start second is partly the previous step's
    last = int(now) - 1  # the current second is still filling
    if last < first:
        return Readings()
    pipe = client.pipeline(transaction=False)
    for second in range(first, last + 1):
        pipe.hgetall(f"traffic:{second}")
    return readings(domain, pipe.execute())


#: Actions audited only on the first tick of a stretch (not every second of it).
_STRETCH = {"wait": "data short", "inconclusive": "inconclusive"}
_AUDIT_ACTION = {"advance": "advanced", "complete": "completed", "rollback": "rolled_back", "stop": "stopped",
                 "wait": "waiting", "inconclusive": "inconclusive"}


def _judgement(decision: Decision, now: float) -> dict[str, Any]:
    return {"at": now, "action": decision.action, "would": decision.would, "reason": decision.reason,
            "verdicts": [v.as_dict() for v in decision.verdicts]}


def _apply(conn: Connection, row: Any, decision: Decision, now: float, url: str | None,
           settings: Settings | None) -> str | None:
    """Carry out ``decision`` for the plan in ``row``; returns the audit action written (if any)."""
    plan = _plan(row)
    if decision.action == "none":
        return None
    judgement = _judgement(decision, now)
    previous = row[9] or {}
    action = decision.action
    first_of_stretch = action in _STRETCH and not (row[7] or "").startswith(_STRETCH[action])
    new_dry_run = decision.would is not None and previous.get("would") != decision.would
    moves = action in ("advance", "complete", "rollback", "stop")
    updates: dict[str, Any] = {"r": decision.reason, "d": plan.domain, "j": json.dumps(judgement)}
    if not (moves or first_of_stretch or new_dry_run):
        conn.execute(text("UPDATE rollout_plans SET judgement = CAST(:j AS jsonb) WHERE domain = :d"), updates)
        return None
    before = _public(row)
    sql = "UPDATE rollout_plans SET last_decision = :r, judgement = CAST(:j AS jsonb), updated_at = now()"
    if action == "advance":
        sql += ", step_index = step_index + 1, step_started_at = now()"
    elif action == "complete":
        sql += ", state = 'completed'"
    elif action in ("rollback", "stop"):
        sql += ", state = 'rolled_back'"
    conn.execute(text(sql + " WHERE domain = :d"), updates)
    after = _public(_load(conn, plan.domain))
    audit_action = _AUDIT_ACTION[action] if (moves or first_of_stretch) else "dry_run"
    _audit(conn, RUNNER_ACTOR, audit_action, plan.domain, before, after, decision.reason)
    starter = f"rollout:{row[8]}"
    if action == "advance":
        flags.set_flag(plan.domain, {"mode": "gradual", "percent": decision.percent}, starter,
                       f"rollout step {plan.step_index + 2}/{len(plan.steps)}: {decision.percent}%", url=url,
                       settings=settings)
    elif action == "complete":
        flags.set_flag(plan.domain, {"mode": "service", "percent": 100}, starter, "rollout completed", url=url,
                       settings=settings)
    elif action == "rollback":
        flags.rollback(plan.domain, starter, f"rollout: {decision.reason}", url=url, settings=settings)
    return audit_action


def tick(client: redis.Redis, *, url: str | None = None, settings: Settings | None = None,
         now: float | None = None) -> dict[str, str]:
    """Judge every running plan once; returns ``{domain: action}``. A no-op while another tick runs.

    The advisory lock is held for the tick's transaction; flag changes commit in their own
    transactions (flag row + audit + NOTIFY) right after each plan's row is updated.
    """
    now = time.time() if now is None else now
    done: dict[str, str] = {}
    with get_engine(url).begin() as conn:
        if not conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": RUNNER_LOCK_ID}).scalar():
            return done
        rows = conn.execute(text(_SELECT + " WHERE state = 'running' ORDER BY domain FOR UPDATE")).fetchall()
        current = {f["domain"]: f for f in flags.list_flags(url=url, settings=settings)}
        for row in rows:
            plan = _plan(row)
            flag = current.get(plan.domain, {})
            try:
                decision = decide(plan, read_readings(client, plan.domain, plan.step_started_at, now), now,
                                  flag.get("mode", "monolith"), shadow_on=bool(flag.get("shadow_percent")))
            except (redis.RedisError, OSError) as exc:
                # no counters, no judgement: hold the step (the gateways' own auto-rollback still guards it)
                decision = Decision("wait", f"data short: gate counters unavailable ({type(exc).__name__})")
            action = _apply(conn, row, decision, now, url, settings)
            if action:
                done[plan.domain] = action
    return done
