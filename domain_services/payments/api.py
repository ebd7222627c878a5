"""HTTP adapter of the payments domain (``/api/payments``, ``/api/subscriptions``)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from domain_services.payments import services, subscriptions
from domain_services.shared.http import created, json_body
from domain_services.shared.pagination import parse_id, parse_page

blueprint = Blueprint("payments", __name__)

# Path ids are bounded to PostgreSQL ``integer``: anything outside cannot exist (404, not 500).
PAYMENT_ID = "<int(min=1, max=2147483647):payment_id>"


@blueprint.get("/api/payments")
def list_or_get_payments():
    """``?id=N`` → one payment; otherwise the list (``user_id``, ``limit``, ``offset``)."""
    payment_id = parse_id(request.args)
    if payment_id is not None:
        return jsonify(services.get_payment(payment_id))
    return jsonify(services.list_payments(parse_page(request.args), user_id=parse_id(request.args, "user_id")))


@blueprint.post("/api/payments")
def create_payment():
    """Record a payment ``{user_id, amount, status?, payment_method?, plan_type?}``."""
    return created(services.create_payment(json_body()))


@blueprint.post(f"/api/payments/{PAYMENT_ID}/status")
def change_payment_status(payment_id: int):
    """Move a payment to ``{status}`` along the allowed transitions (else 409)."""
    return jsonify(services.set_status(payment_id, json_body()))


@blueprint.get("/api/subscriptions")
def list_or_get_subscriptions():
    """``?id=N`` → one subscription; otherwise the list (``user_id``, ``limit``, ``offset``)."""
    subscription_id = parse_id(request.args)
    if subscription_id is not None:
        return jsonify(subscriptions.get_subscription(subscription_id))
    return jsonify(
        subscriptions.list_subscriptions(parse_page(request.args), user_id=parse_id(request.args, "user_id"))
    )


@blueprint.post("/api/subscriptions")
def create_subscription():
    """Create a subscription ``{user_id, plan_type, start_date, end_date}``."""
    return created(subscriptions.create_subscription(json_body()))
