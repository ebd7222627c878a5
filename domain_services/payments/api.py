"""HTTP adapter of the payments domain (``/api/payments``, ``/api/subscriptions``).

Who calls is what the gateway says (``shared/identity.py``); the service functions decide
what that caller may see and do. The provider callback is the one route authenticated by
its signature instead (``webhooks.py``).
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState

from domain_services.payments import checkout, services, subscriptions, webhooks
from domain_services.payments.adapters import build_provider
from domain_services.payments.provider import PaymentProvider
from kernel.http import created, error_response, json_body
from kernel.identity import current_identity
from kernel.pagination import parse_id, parse_page
from kernel.settings import Settings

log = logging.getLogger(__name__)
blueprint = Blueprint("payments", __name__)
EXTENSION = "cinemaabyss.payments"
WEBHOOK_PATH = "/api/payments/webhook"

# Path ids are bounded to PostgreSQL ``integer``: anything outside cannot exist (404, not 500).
PAYMENT_ID = "<int(min=1, max=2147483647):payment_id>"
SUBSCRIPTION_ID = "<int(min=1, max=2147483647):subscription_id>"


class PaymentsConfig:
    """What the routes need from settings, built once when the blueprint is registered."""

    def __init__(self, settings: Settings) -> None:
        self.callback_url = settings.payment_callback_url or settings.proxy_url.rstrip("/") + WEBHOOK_PATH
        # PAYMENT_PROVIDER picks the adapter; the sandbox's secret is generated on first start.
        self.provider: PaymentProvider = build_provider(settings, webhooks.load_or_create_secret(settings))


@blueprint.record_once
def _install(state: BlueprintSetupState) -> None:
    """On registration: the provider adapter (with its keys and webhook secret)."""
    settings: Settings = state.app.config["SETTINGS"]  # set by the app factory from its root
    state.app.extensions[EXTENSION] = PaymentsConfig(settings)


def _config() -> PaymentsConfig:
    return current_app.extensions[EXTENSION]


@blueprint.get("/api/payments")
def list_or_get_payments():
    """``?id=N`` → one payment; otherwise the list (``user_id``, ``limit``, ``offset``); own only for users."""
    viewer = current_identity()
    payment_id = parse_id(request.args)
    if payment_id is not None:
        return jsonify(services.get_payment(payment_id, viewer=viewer))
    page, user_id = parse_page(request.args), parse_id(request.args, "user_id")
    return jsonify(services.list_payments(page, user_id=user_id, viewer=viewer))


@blueprint.post("/api/payments")
def create_payment():
    """Record a pending payment ``{user_id?, amount, payment_method?, plan_type?}``."""
    return created(services.create_payment(json_body(), actor=current_identity()))


@blueprint.post(f"/api/payments/{PAYMENT_ID}/status")
def change_payment_status(payment_id: int):
    """Move a payment to ``{status}`` along the allowed transitions (payment side only; else 403/409)."""
    return jsonify(services.set_status(payment_id, json_body(), actor=current_identity()))


@blueprint.post(f"/api/payments/{PAYMENT_ID}/checkout")
def start_checkout(payment_id: int):
    """Pay a pending payment through the provider; the outcome arrives by callback."""
    config = _config()
    return created(checkout.start_checkout(payment_id, config.provider, config.callback_url,
                                           actor=current_identity()))


@blueprint.post(f"/api/payments/{PAYMENT_ID}/refund")
def refund(payment_id: int):
    """Ask the provider to refund a completed payment (payment side only)."""
    config = _config()
    answer = checkout.request_refund(payment_id, config.provider, config.callback_url, actor=current_identity())
    return jsonify(answer), 202


@blueprint.post(WEBHOOK_PATH)
def provider_callback():
    """A signed callback from the payment provider (no user identity; the signature is the credential)."""
    config = _config()
    body = request.get_data(cache=True)
    try:
        result = checkout.handle_callback(body, request.headers, config.provider, now=time.time())
    except webhooks.WebhookRejected as exc:
        log.warning("provider callback refused (%s): %s; from %s", exc.status, exc.message, request.remote_addr)
        return error_response(exc.message, exc.status)
    return jsonify(result)


@blueprint.get("/api/subscriptions")
def list_or_get_subscriptions():
    """``?id=N`` → one subscription; otherwise the list (``user_id``, ``limit``, ``offset``); own only for users."""
    viewer = current_identity()
    subscription_id = parse_id(request.args)
    if subscription_id is not None:
        return jsonify(subscriptions.get_subscription(subscription_id, viewer=viewer))
    page, user_id = parse_page(request.args), parse_id(request.args, "user_id")
    return jsonify(subscriptions.list_subscriptions(page, user_id=user_id, viewer=viewer))


@blueprint.post("/api/subscriptions")
def create_subscription():
    """Create a subscription ``{user_id, plan_type, start_date, end_date}`` (payment side only)."""
    return created(subscriptions.create_subscription(json_body(), actor=current_identity()))


@blueprint.patch(f"/api/subscriptions/{SUBSCRIPTION_ID}")
def update_subscription(subscription_id: int):
    """Change ``{auto_renew}`` (owner) or plan and period too (payment side)."""
    return jsonify(subscriptions.update_subscription(subscription_id, json_body(), actor=current_identity()))
