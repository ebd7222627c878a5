"""``/strangler``: per-domain mode, percent slider, safety settings, rollback and history.

Every write goes through :mod:`domain_services.shared.flags` (flag row + audit row + NOTIFY in
one transaction). htmx posts get the domain's card back; plain form posts redirect.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from control_plane.roles import can, requires
from domain_services.shared import flags
from domain_services.shared.errors import DomainError
from domain_services.shared.models import FLAG_DOMAINS

bp = Blueprint("strangler", __name__)
#: Percent jumps larger than this need an explicit confirmation.
CONFIRM_JUMP = 25
HISTORY = 10
SETTINGS_FIELDS = ("sticky_key", "fallback", "auto_rollback", "rollback_error_rate", "rollback_min_requests",
                   "shadow_percent")


def _card(domain: str, *, error: str | None = None, confirm: dict[str, Any] | None = None, status: int = 200):
    """Render one domain's card (htmx swap target)."""
    return render_template("_flag_card.html", flag=flags.get_flag(domain), history=flags.flag_history(domain, HISTORY),
                           can_write=can("flags.write"), error=error, confirm=confirm,
                           sticky_keys=flags.STICKY_KEYS), status


def _respond(domain: str, message: str | None = None, *, error: str | None = None,
             confirm: dict[str, Any] | None = None):
    """The card for htmx, else flash + redirect back to the page."""
    if request.headers.get("HX-Request"):
        return _card(domain, error=error, confirm=confirm)
    if error:
        flash(f"{domain}: {error}", "error")
    elif message:
        flash(message, "info")
    return redirect(url_for("strangler.page"))


def _apply(domain: str, changes: dict[str, Any], reason: str | None):
    try:
        flags.set_flag(domain, changes, current_user.username, reason or None)
    except DomainError as exc:
        return _respond(domain, error=exc.message)
    return _respond(domain, f"{domain}: saved")


def _domain_or_404(domain: str) -> str:
    if domain not in FLAG_DOMAINS:
        abort(404)
    return domain


@bp.route("/strangler")
@requires("read")
def page():
    """All three domain cards."""
    cards = [
        {"flag": flags.get_flag(d), "history": flags.flag_history(d, HISTORY)} for d in FLAG_DOMAINS
    ]
    return render_template("strangler.html", cards=cards, can_write=can("flags.write"),
                           sticky_keys=flags.STICKY_KEYS)


@bp.route("/strangler/<domain>/card")
@requires("read")
def card(domain: str):
    """One card (used by "cancel" on the confirm step)."""
    return _card(_domain_or_404(domain))


@bp.route("/strangler/<domain>/mode", methods=["POST"])
@requires("flags.write")
def set_mode(domain: str):
    """Switch monolith / gradual / service."""
    return _apply(_domain_or_404(domain), {"mode": request.form.get("mode", "")}, request.form.get("reason"))


@bp.route("/strangler/<domain>/percent", methods=["POST"])
@requires("flags.write")
def set_percent(domain: str):
    """Move the slider; a jump over ``CONFIRM_JUMP`` points asks for confirmation first."""
    _domain_or_404(domain)
    raw = request.form.get("percent", "")
    try:
        target = int(raw)
    except ValueError:
        return _respond(domain, error="percent must be an integer 0..100")
    current = flags.get_flag(domain)["percent"]
    if abs(target - current) > CONFIRM_JUMP and request.form.get("confirm") != "yes":
        return _respond(domain, error=f"jump of {abs(target - current)} points needs confirmation",
                        confirm={"from": current, "to": target})
    changes: dict[str, Any] = {"percent": target}
    if request.form.get("gradual") == "yes":
        changes["mode"] = "gradual"
    return _apply(domain, changes, request.form.get("reason"))


@bp.route("/strangler/<domain>/settings", methods=["POST"])
@requires("flags.write")
def set_settings(domain: str):
    """Fallback, auto-rollback thresholds, sticky key, shadow share."""
    _domain_or_404(domain)
    form = request.form
    changes: dict[str, Any] = {name: form[name] for name in SETTINGS_FIELDS if name in form and form[name] != ""}
    # unchecked checkboxes are absent from the form: absent means off
    changes["fallback"] = form.get("fallback") == "on"
    changes["auto_rollback"] = form.get("auto_rollback") == "on"
    return _apply(domain, changes, form.get("reason"))


@bp.route("/strangler/<domain>/rollback", methods=["POST"])
@requires("flags.write")
def rollback(domain: str):
    """One click: everything back to the monolith."""
    _domain_or_404(domain)
    try:
        flags.rollback(domain, current_user.username, request.form.get("reason") or "manual rollback (console)")
    except DomainError as exc:
        return _respond(domain, error=exc.message)
    return _respond(domain, f"{domain}: rolled back to the monolith")
