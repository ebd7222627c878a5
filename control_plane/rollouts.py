"""Rollout plans in the console: start, pause, resume, abort (ops/admin), one domain's plan partial.

Thin adapter over :mod:`strangler.rollouts` (which writes the audit rows, actor
= the operator). The partial ``_rollout_plan.html`` is included in each strangler card; when
the including template passes no ``plan`` it asks :func:`rollout_plan` (a template global
registered by this blueprint). htmx posts get the partial back; plain posts redirect.

Starting a plan takes the care of a manual step: a reason (into the audit row) and a
confirmation after a preview of the steps, the hold times and the gates. While a plan runs the
partial shows the countdown to the step's earliest end, the judge's latest verdicts with their
numbers, and the step timeline (the plan's audit rows, each with the verdicts behind it).
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from control_plane.clients import app_settings
from control_plane.roles import can, requires
from kernel.errors import DomainError
from kernel.registry import FLAGGED
from strangler import rollouts
from strangler.judge import GATES as JUDGED_GATES
from strangler.rollout_plan import DEFAULT_STEPS, Draft, Gates

bp = Blueprint("rollouts", __name__)
GATE_FIELDS = ("max_error_rate", "max_p50_ratio", "max_p99_ratio", "max_mismatch_rate", "min_requests", "alpha",
               "max_inconclusive_s")


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    """``rollout_plan(domain)``, ``rollout_timeline(domain)`` and the defaults for the start form."""
    return {"rollout_plan": lambda domain: rollouts.get_plan(domain),
            "rollout_timeline": lambda domain: rollouts.timeline(domain),
            "rollout_default_steps": DEFAULT_STEPS, "rollout_default_gates": Gates().as_dict(),
            "rollout_gate_names": JUDGED_GATES, "rollout_now": time.time}


def _domain_or_404(domain: str) -> str:
    if domain not in FLAGGED:
        abort(404)
    return domain


def _partial(domain: str, *, error: str | None = None, status: int = 200, preview: dict[str, Any] | None = None):
    return render_template("_rollout_plan.html", domain=domain, plan=rollouts.get_plan(domain),
                           rollout_error=error, rollout_preview=preview, can_write=can("flags.write")), status


def _respond(domain: str, message: str, error: str | None):
    if request.headers.get("HX-Request"):
        return _partial(domain, error=error, status=200 if error is None else 400)
    flash(f"{domain}: {error}" if error else message, "error" if error else "info")
    return redirect(url_for("strangler.page"))


def _act(domain: str, message: str, func, *args, **kwargs):
    try:
        func(_domain_or_404(domain), current_user.username, *args, **kwargs)
    except DomainError as exc:
        return _respond(domain, message, exc.message)
    return _respond(domain, message, None)


@bp.route("/rollouts/<domain>")
@requires("read")
def plan(domain: str):
    """The plan partial (htmx polling)."""
    return _partial(_domain_or_404(domain))


def _start_fields() -> dict[str, Any]:
    """The start form's fields as posted (carried through the preview as hidden inputs)."""
    form = request.form
    fields = {name: form[name].strip() for name in ("steps", "hold_seconds", *GATE_FIELDS)
              if form.get(name, "").strip() != ""}
    dry_run = [gate for gate in JUDGED_GATES if form.get(f"dry_run_{gate}") == "on"]
    fields.update({f"dry_run_{gate}": "on" for gate in dry_run})
    return fields


@bp.route("/rollouts/<domain>/start", methods=["POST"])
@requires("flags.write")
def start(domain: str):
    """Start a plan: checked, previewed (steps, holds, gates) and started once confirmed, with a reason."""
    _domain_or_404(domain)
    fields = _start_fields()
    gates = {name: fields[name] for name in GATE_FIELDS if name in fields}
    gates["dry_run"] = [gate for gate in JUDGED_GATES if f"dry_run_{gate}" in fields]
    reason = (request.form.get("reason") or "").strip()
    try:
        draft = Draft.parse(fields.get("steps"), fields.get("hold_seconds", 60), gates)
    except DomainError as exc:
        return _respond(domain, "", exc.message)
    if not reason:
        return _respond(domain, "", "a reason is required to start a plan (it goes into the audit log)")
    if request.form.get("confirm") != "yes":
        preview = {"draft": draft, "schedule": draft.schedule(), "fields": {**fields, "reason": reason[:200]}}
        if request.headers.get("HX-Request"):
            return _partial(domain, preview=preview)
        return render_template("_rollout_preview_page.html", domain=domain, plan=rollouts.get_plan(domain),
                               rollout_error=None, rollout_preview=preview, can_write=True)
    return _act(domain, f"{domain}: rollout started", rollouts.start, steps=fields.get("steps"),
                hold_seconds=fields.get("hold_seconds", 60), gates=gates, reason=reason, settings=app_settings())


@bp.route("/rollouts/<domain>/pause", methods=["POST"])
@requires("flags.write")
def pause(domain: str):
    """Stop advancing."""
    return _act(domain, f"{domain}: rollout paused", rollouts.pause)


@bp.route("/rollouts/<domain>/resume", methods=["POST"])
@requires("flags.write")
def resume(domain: str):
    """Continue a paused plan."""
    return _act(domain, f"{domain}: rollout resumed", rollouts.resume)


@bp.route("/rollouts/<domain>/abort", methods=["POST"])
@requires("flags.write")
def abort_plan(domain: str):
    """End the plan and roll the domain back to the monolith."""
    return _act(domain, f"{domain}: rollout aborted, back on the monolith", rollouts.abort,
                settings=app_settings())
