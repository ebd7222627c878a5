"""``/payments/unsettled``: payments waiting for their provider, with what the provider says now.

Lists every payment checked out and still ``pending``, and every completed one whose refund
was asked for and not confirmed, oldest first, each looked up at its provider (the same
lookup reconciliation uses). Reconciliation settles those older than
``PAYMENT_RECONCILE_AFTER_SECONDS`` once a minute; its settlements are in the audit log
(action ``payment.settled``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import Blueprint, current_app, render_template
from flask.blueprints import BlueprintSetupState

from control_plane.roles import requires
from domain_services.payments import reconcile
from domain_services.payments.adapters import build_provider
from domain_services.payments.provider import PaymentProvider, ProviderStatus, ProviderUnavailable
from domain_services.payments.webhooks import load_or_create_secret
from kernel.settings import Settings

bp = Blueprint("payments_unsettled", __name__)
EXTENSION = "cinemaabyss.payment_provider"
LIMIT = 50


@dataclass(frozen=True)
class Row:
    """An unsettled payment and the provider's answer (or why there is none)."""

    item: reconcile.Unsettled
    seen: ProviderStatus | None
    error: str | None
    due: bool  # old enough for the next reconciliation pass


@bp.record_once
def _install(state: BlueprintSetupState) -> None:
    """The provider adapter, built once from the console's settings."""
    settings: Settings = state.app.config["SETTINGS"]
    state.app.extensions[EXTENSION] = build_provider(settings, load_or_create_secret(settings))


def _look_up(provider: PaymentProvider, item: reconcile.Unsettled) -> tuple[ProviderStatus | None, str | None]:
    if item.provider != provider.name:
        return None, f"opened with {item.provider}; the console speaks {provider.name}"
    if item.checkout_id is None:
        return None, "the provider never answered the checkout"
    try:
        return provider.lookup(item.checkout_id), None
    except ProviderUnavailable as exc:
        return None, str(exc)


@bp.route("/payments/unsettled")
@requires("read")
def page():
    """Unsettled payments, oldest first, each with its provider's status."""
    provider: PaymentProvider = current_app.extensions[EXTENSION]
    settings: Settings = current_app.config["SETTINGS"]
    threshold = timedelta(seconds=settings.payment_reconcile_after_seconds)
    due = {i.payment_id for i in reconcile.unsettled(older_than=threshold, limit=LIMIT)}
    rows = [Row(item, *_look_up(provider, item), item.payment_id in due)
            for item in reconcile.unsettled(limit=LIMIT)]
    return render_template("payments_unsettled.html", rows=rows, provider=provider.name, threshold=threshold,
                           limit=LIMIT)
