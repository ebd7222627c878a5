"""Rollout plans in the console: start, pause, resume, abort (ops/admin), one domain's plan partial.

Thin adapter over :mod:`strangler.rollouts` (which writes the audit rows, actor
= the operator). The partial ``_rollout_plan.html`` is included in each strangler card; when
the including template passes no ``plan`` it asks :func:`rollout_plan` (a template global
registered by this blueprint). htmx posts get the partial back; plain posts redirect.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from control_plane.roles import can, requires
from kernel.errors import DomainError
from strangler import rollouts
from strangler.flag_contract import FLAG_DOMAINS
from strangler.rollout_plan import DEFAULT_STEPS, Gates

bp = Blueprint("rollouts", __name__)
GATE_FIELDS = ("max_error_rate", "max_p99_ratio", "max_mismatch_rate", "min_requests")


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    """``rollout_plan(domain)`` and the defaults for the partial's start form."""
    return {"rollout_plan": lambda domain: rollouts.get_plan(domain), "rollout_default_steps": DEFAULT_STEPS,
            "rollout_default_gates": Gates().as_dict()}


def _domain_or_404(domain: str) -> str:
    if domain not in FLAG_DOMAINS:
        abort(404)
    return domain


def _partial(domain: str, *, error: str | None = None, status: int = 200):
    return render_template("_rollout_plan.html", domain=domain, plan=rollouts.get_plan(domain),
                           rollout_error=error, can_write=can("flags.write")), status


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


@bp.route("/rollouts/<domain>/start", methods=["POST"])
@requires("flags.write")
def start(domain: str):
    """Start a plan: steps, hold time and gate thresholds from the form."""
    form = request.form
    gates = {name: form[name] for name in GATE_FIELDS if form.get(name, "") != ""}
    return _act(domain, f"{domain}: rollout started", rollouts.start, steps=form.get("steps") or None,
                hold_seconds=form.get("hold_seconds") or 60, gates=gates)


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
    return _act(domain, f"{domain}: rollout aborted, back on the monolith", rollouts.abort)
