"""``/strangler``: one rollout card per domain — a control room for moving it to its service.

Each card shows the domain's own live traffic (requests/s and error rate, monolith vs service),
the target share next to the share the service really answered, what the sticky key means for
that share, the rollout plan's progress, and the history. Operators move the share with step
buttons (the rollout plan's default steps) or a number box; every change needs a reason (it goes into the
audit row), and sending everything to the service or jumping more than ``CONFIRM_JUMP`` points
asks for a confirmation first. The live part of each card re-polls every few seconds without
touching the controls (a half-typed reason survives).

Every write goes through :mod:`strangler.flags` (flag row + audit row + NOTIFY in
one transaction). htmx posts get the domain's card back; plain form posts redirect.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from redis import RedisError

from control_plane import traffic
from control_plane.clients import app_settings
from control_plane.observed_window import observed_window
from control_plane.roles import can, requires
from kernel.errors import DomainError, InvalidInput
from kernel.registry import FLAGGED
from kernel.validation import whole_number
from strangler import flags, rollouts
from strangler.flag_contract import FIELDS
from strangler.rollout_plan import DEFAULT_STEPS
from strangler.traffic_history import epoch

bp = Blueprint("strangler", __name__)
log = logging.getLogger(__name__)
#: Percent jumps larger than this need an explicit confirmation.
CONFIRM_JUMP = 25
HISTORY = 8
#: The settings form: every field of the flag contract but the two with controls of their own
#: (the mode buttons and the share steps); unchecked boxes are absent from a form, so each
#: boolean field is read as a checkbox.
SETTINGS_FIELDS = tuple(f.name for f in FIELDS if f.name not in ("mode", "percent"))
CHECKBOXES = tuple(f.name for f in FIELDS if f.kind == "bool")
#: What each sticky key means for the share the service observes.
STICKINESS = {
    "user": "Sticky per user: each signed-in user (else the X-User-Id header, else the client address) stays on "
            "one backend while the share grows, so the observed share follows users, not requests — a few busy "
            "users can push it far from the target. Lowering the share moves users back to the monolith.",
    "header": "Sticky per X-User-Id header: the same as per user, keyed on the header the caller sends; "
              "requests without it stick per client address.",
    "client": "Sticky per client address: everyone behind one NAT or proxy lands on the same backend, so a "
              "single office can move the observed share by a lot.",
    "none": "Not sticky: every request is decided anew, so the observed share tracks the target closely "
            "(but one user may hit both backends).",
}


def effective_share(flag: dict[str, Any]) -> int:
    """The percent of the domain's traffic the flag sends to the service (mode and percent combined)."""
    return {"monolith": 0, "service": 100}.get(flag["mode"], flag["percent"])


def confirmation_needed(flag: dict[str, Any], changes: dict[str, Any]) -> str | None:
    """The question to ask before applying ``changes`` to ``flag``, or None when it may go straight through.

    Asks when everything would go to the service (mode ``service`` or 100 %) and when the share
    would jump by more than :data:`CONFIRM_JUMP` points.
    """
    domain = flag["domain"]
    mode = changes.get("mode", flag["mode"])
    if mode == "service" and flag["mode"] != "service":
        return f"Send all of {domain} (100 %) to the service?"
    if "percent" in changes and mode == "gradual":
        current = effective_share(flag)
        target = changes["percent"]
        if target == 100 and current != 100:
            return f"Send 100 % of {domain} to the service?"
        if abs(target - current) > CONFIRM_JUMP:
            return f"Jump {domain} from {current} % to {target} % ({abs(target - current)} points)?"
    return None


def _stats(domain: str, window: int) -> traffic.DomainStats | None:
    if window < 1:  # no whole second since the change yet: nothing observed (not the previous step)
        empty = traffic.BackendStats(0, 0, 1)
        return traffic.DomainStats(domain, empty, empty)
    try:
        return traffic.domain_stats(domain, window)
    except RedisError as exc:
        log.warning("traffic counters unavailable: %s", exc)
        return None


def card_version(flag: dict[str, Any], plan: dict[str, Any] | None) -> str:
    """A fingerprint of what a card's controls are drawn from: the flag and the plan.

    The page polls these fingerprints and re-renders a card whose flag or plan changed anywhere
    (this console, the CLI, the plan runner, a gateway's automatic rollback).
    """
    raw = json.dumps({"flag": flag, "plan": plan}, sort_keys=True, default=str)
    return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()


def _context(domain: str) -> dict[str, Any]:
    """Everything a card shows, read fresh."""
    flag = flags.get_flag(domain, settings=app_settings())
    plan = rollouts.get_plan(domain)
    # right after a change the share counts only the seconds since it (not the previous step's)
    window = observed_window(epoch(flag.get("updated_at")) if flag.get("persisted") else None, time.time())
    return {"flag": flag, "history": flags.flag_history(domain, HISTORY), "stats": _stats(domain, window.seconds),
            "observed": window,
            "plan": plan, "stickiness": STICKINESS.get(flag["sticky_key"], ""),
            "steps": DEFAULT_STEPS, "can_write": can("flags.write"), "sticky_keys": flags.STICKY_KEYS,
            "target": effective_share(flag), "version": card_version(flag, plan)}


def _card(domain: str, *, error: str | None = None, confirm: dict[str, Any] | None = None, status: int = 200):
    """Render one domain's card (htmx swap target)."""
    return render_template("_flag_card.html", **_context(domain), error=error, confirm=confirm), status


def _respond(domain: str, message: str | None = None, *, error: str | None = None,
             confirm: dict[str, Any] | None = None, status: int = 400):
    """The card for htmx, else flash + redirect back to the page (or the confirmation page)."""
    if request.headers.get("HX-Request"):
        # a refusal keeps its status: the card is not swapped (typed values stay) and the page
        # shows the message next to the control that sent it
        return _card(domain, error=error, confirm=confirm, status=status if error else 200)
    if confirm:
        return render_template("strangler.html", cards=[{**_context(domain), "confirm": confirm, "error": None}],
                               can_write=can("flags.write"), single=True)
    if error:
        flash(f"{domain}: {error}", "error")
    elif message:
        flash(message, "info")
    return redirect(url_for("strangler.page", _anchor=f"flag-{domain}"))


def _change(domain: str, changes: dict[str, Any], endpoint: str):
    """Validate, ask for a reason and (when needed) a confirmation, then apply ``changes``."""
    reason = (request.form.get("reason") or "").strip()
    if not reason:
        return _respond(domain, error="a reason is required (it goes into the audit log)")
    try:
        changes = flags.validate_changes(changes)
        question = confirmation_needed(flags.get_flag(domain, settings=app_settings()), changes)
        if question and request.form.get("confirm") != "yes":
            fields = {k: ("on" if v is True else v) for k, v in changes.items() if v is not False}
            return _respond(domain, confirm={"question": question, "action": url_for(endpoint, domain=domain),
                                             "fields": {**fields, "reason": reason}})
        flags.set_flag(domain, changes, current_user.username, reason[:200], settings=app_settings())
    except DomainError as exc:
        return _respond(domain, error=exc.message, status=exc.status)
    return _respond(domain, f"{domain}: saved")


def _domain_or_404(domain: str) -> str:
    if domain not in FLAGGED:
        abort(404)
    return domain


@bp.route("/strangler")
@requires("read")
def page():
    """Every domain's card."""
    cards = [{**_context(d), "confirm": None, "error": None} for d in FLAGGED]
    return render_template("strangler.html", cards=cards, can_write=can("flags.write"), single=False)


@bp.route("/strangler/state.json")
@requires("read")
def state():
    """``{domain: card version}``: cheap enough to poll every second (two small reads per domain)."""
    plans = {d: rollouts.get_plan(d) for d in FLAGGED}
    current = flags.list_flags(settings=app_settings())
    return jsonify({f["domain"]: card_version(f, plans[f["domain"]]) for f in current})


@bp.route("/strangler/<domain>/card")
@requires("read")
def card(domain: str):
    """One card (used by "cancel" on the confirm step)."""
    return _card(_domain_or_404(domain))


@bp.route("/strangler/<domain>/live")
@requires("read")
def live(domain: str):
    """The live part of a card (state, traffic, plan, history), polled by htmx."""
    return render_template("_rollout_parts.html", **_context(_domain_or_404(domain)))


@bp.route("/strangler/<domain>/mode", methods=["POST"])
@requires("flags.write")
def set_mode(domain: str):
    """Switch monolith / gradual / service."""
    return _change(_domain_or_404(domain), {"mode": request.form.get("mode", "")}, "strangler.set_mode")


@bp.route("/strangler/<domain>/percent", methods=["POST"])
@requires("flags.write")
def set_percent(domain: str):
    """Set the service's share (a step button or the number box); implies gradual mode."""
    _domain_or_404(domain)
    raw = (request.form.get("step") or request.form.get("percent") or "").strip()
    try:
        percent = whole_number(raw, "percent", minimum=0, maximum=100, kind="field")
    except InvalidInput:
        return _respond(domain, error="percent must be a whole number 0..100")
    return _change(domain, {"mode": "gradual", "percent": percent}, "strangler.set_percent")


@bp.route("/strangler/<domain>/settings", methods=["POST"])
@requires("flags.write")
def set_settings(domain: str):
    """Fallback, auto-rollback thresholds, sticky key, shadow share."""
    _domain_or_404(domain)
    form = request.form
    changes: dict[str, Any] = {name: form[name] for name in SETTINGS_FIELDS if name in form and form[name] != ""}
    # unchecked checkboxes are absent from the form: absent means off
    changes.update({name: form.get(name) == "on" for name in CHECKBOXES})
    return _change(domain, changes, "strangler.set_settings")


@bp.route("/strangler/<domain>/rollback", methods=["POST"])
@requires("flags.write")
def rollback(domain: str):
    """One click: everything back to the monolith (the one change that never waits for a reason)."""
    _domain_or_404(domain)
    try:
        flags.rollback(domain, current_user.username, request.form.get("reason") or "manual rollback (console)",
                       settings=app_settings())
    except DomainError as exc:
        return _respond(domain, error=exc.message, status=exc.status)
    return _respond(domain, f"{domain}: rolled back to the monolith")
