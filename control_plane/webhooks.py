"""``/webhooks``: outgoing notification endpoints (admin only): add, switch on/off, remove, test-send.

Thin adapter over :mod:`strangler.webhooks`, which validates, stores and audits
(``webhook.*`` rows). A new endpoint's signing secret is shown once, right after it is added;
receivers verify ``X-CinemaAbyss-Signature`` with it (docs/runbook.md).
"""

from __future__ import annotations

import httpx
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from control_plane.roles import requires
from kernel.errors import DomainError
from strangler import notify, webhooks

bp = Blueprint("webhooks", __name__)
#: Endpoints are admin settings: the same permission as console accounts.
PERMISSION = "operators"


def _form() -> dict:
    form = request.form
    return {"name": form.get("name", ""), "url": form.get("endpoint_url", ""), "format": form.get("format", "generic"),
            "events": [e for e in notify.EVENTS if form.get(f"event_{e}") == "on"],
            "active": form.get("active", "on") == "on"}


@bp.route("/webhooks")
@requires(PERMISSION)
def page():
    """Endpoints, the add form and the newest deliveries."""
    return render_template("webhooks.html", endpoints=webhooks.list_endpoints(),
                           deliveries=webhooks.recent_deliveries(), events=notify.EVENTS, formats=notify.FORMATS,
                           secret=None)


@bp.route("/webhooks", methods=["POST"])
@requires(PERMISSION)
def create():
    """Add an endpoint; the page shows its secret once."""
    try:
        endpoint, secret = webhooks.create(_form(), current_user.username)
    except DomainError as exc:
        flash(f"webhook not added: {exc.message}", "error")
        return redirect(url_for("webhooks.page")), 303
    return render_template("webhooks.html", endpoints=webhooks.list_endpoints(),
                           deliveries=webhooks.recent_deliveries(), events=notify.EVENTS, formats=notify.FORMATS,
                           secret={"name": endpoint["name"], "value": secret})


def _endpoint(endpoint_id: int) -> dict:
    for endpoint in webhooks.list_endpoints():
        if endpoint["id"] == endpoint_id:
            return endpoint
    abort(404)


@bp.route("/webhooks/<int:endpoint_id>/toggle", methods=["POST"])
@requires(PERMISSION)
def toggle(endpoint_id: int):
    """Switch an endpoint on or off."""
    endpoint = _endpoint(endpoint_id)
    webhooks.update(endpoint_id, {**endpoint, "active": not endpoint["active"]}, current_user.username)
    flash(f"{endpoint['name']}: {'off' if endpoint['active'] else 'on'}", "info")
    return redirect(url_for("webhooks.page"))


@bp.route("/webhooks/<int:endpoint_id>/delete", methods=["POST"])
@requires(PERMISSION)
def delete(endpoint_id: int):
    """Remove an endpoint and its deliveries."""
    endpoint = _endpoint(endpoint_id)
    webhooks.delete(endpoint_id, current_user.username)
    flash(f"{endpoint['name']}: removed", "info")
    return redirect(url_for("webhooks.page"))


@bp.route("/webhooks/<int:endpoint_id>/test", methods=["POST"])
@requires(PERMISSION)
def test_send(endpoint_id: int):
    """Send a test notification now and say what the receiver answered."""
    endpoint = _endpoint(endpoint_id)
    settings = current_app.config["SETTINGS"]
    try:
        with httpx.Client(timeout=settings.notify_timeout_s, follow_redirects=False) as client:
            result = webhooks.test_send(endpoint_id, current_user.username, client)
    except DomainError as exc:
        flash(f"{endpoint['name']}: {exc.message}", "error")
        return redirect(url_for("webhooks.page"))
    if result.outcome == "delivered":
        flash(f"{endpoint['name']}: test delivered (HTTP {result.status})", "info")
    else:
        flash(f"{endpoint['name']}: test failed ({result.error})", "error")
    return redirect(url_for("webhooks.page"))
