"""Stripe through its official SDK, against stripe-mock (Stripe's own API mock) — no mocking of the SDK.

Webhooks are signed with the SDK's own scheme (``stripe.WebhookSignature.generate_signature_header``)
and verified by the SDK inside a payments service running with ``PAYMENT_PROVIDER=stripe``.
stripe-mock answers from fixtures and keeps no state (a retrieved PaymentIntent always waits
for a payment method), so the webhook is what moves the payment, as in production.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
import stripe
from sqlalchemy import select

from domain_services.payments import checkout, webhooks
from domain_services.payments.adapters import build_provider
from domain_services.payments.models import PaymentCheckout, Subscription
from domain_services.payments.plans import price_of
from domain_services.payments.provider import PENDING, CheckoutRequest, checkout_key, minor_units
from domain_services.payments.stripe_provider import StripeProvider, intent_status, read_event
from kernel.db import read_session
from kernel.identity import Identity
from kernel.settings import load_settings
from tests.payments.conftest import STRIPE_KEY, STRIPE_WEBHOOK_SECRET, check_out, pending_payment
from tests.payments.test_settle import _audit, _react, _status

ADMIN = Identity(user_id=1, role="admin")


# --- pure -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "refunded", "expected"), [
    ("succeeded", False, "completed"),
    ("succeeded", True, "refunded"),
    ("canceled", False, "failed"),
    ("requires_payment_method", False, PENDING),  # not paid yet, or declined and may be paid with another card
    ("processing", False, PENDING),
    ("something_new", False, "unknown"),
])
def test_payment_intent_statuses_in_the_domains_words(status, refunded, expected):
    assert intent_status(status, refunded) == expected


def _event(event_type: str, obj: dict) -> dict:
    return {"id": f"evt_{secrets.token_hex(12)}", "object": "event", "type": event_type, "livemode": False,
            "created": int(time.time()), "data": {"object": obj}}


def _intent(intent_id: str, payment_id: int, amount: Decimal, currency: str = "usd") -> dict:
    return {"id": intent_id, "object": "payment_intent", "amount": minor_units(amount),
            "amount_received": minor_units(amount), "currency": currency, "status": "succeeded",
            "metadata": {"payment_id": str(payment_id)}}


def _charge(intent_id: str, amount: Decimal, refunded: bool = True) -> dict:
    return {"id": f"ch_{secrets.token_hex(8)}", "object": "charge", "payment_intent": intent_id,
            "amount": minor_units(amount), "amount_refunded": minor_units(amount) if refunded else 0,
            "currency": "usd", "refunded": refunded, "metadata": {}}


def test_stripe_events_are_mapped_to_outcomes():
    paid = read_event(_event("payment_intent.succeeded", _intent("pi_1", 7, Decimal("19.99"))))
    assert (paid.outcome, paid.checkout_id, paid.payment_id, paid.amount) == ("completed", "pi_1", 7, Decimal("19.99"))
    assert read_event(_event("payment_intent.payment_failed", _intent("pi_1", 7, Decimal("0")))).outcome == "failed"
    refunded = read_event(_event("charge.refunded", _charge("pi_1", Decimal("19.99"))))
    assert (refunded.outcome, refunded.checkout_id) == ("refunded", "pi_1")
    assert read_event(_event("charge.refunded", _charge("pi_1", Decimal("5"), refunded=False))).outcome is None
    assert read_event(_event("customer.created", {"id": "cus_1"})).outcome is None  # acknowledged, not acted on
    in_euros = read_event(_event("payment_intent.succeeded", _intent("pi_1", 7, Decimal("19.99"), "eur")))
    assert in_euros.amount is None  # never equals a plan price: the payment fails


def _signed(event: dict, *, secret: str = STRIPE_WEBHOOK_SECRET, at: int | None = None) -> tuple[bytes, dict]:
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, at or int(time.time()))
    return body.encode(), {"Stripe-Signature": header, "Content-Type": "application/json"}


def test_the_sdk_verifies_stripe_signatures():
    provider = StripeProvider(STRIPE_KEY, STRIPE_WEBHOOK_SECRET, tolerance=300)
    event = _event("payment_intent.succeeded", _intent("pi_1", 7, Decimal("9.99")))
    assert provider.verify_event(*_signed(event), now=time.time()).event_id == event["id"]
    cases = [
        (_signed(event, secret="whsec_forged"), 401),
        (_signed(event, at=int(time.time()) - 301), 400),  # stale
        ((_signed(event)[0], {}), 401),  # unsigned
        ((_signed(event)[0].replace(b"9", b"1"), _signed(event)[1]), 401),  # tampered
    ]
    for (body, headers), status in cases:
        with pytest.raises(webhooks.WebhookRejected) as refused:
            provider.verify_event(body, headers, now=time.time())
        assert refused.value.status == status


def test_stripe_mode_needs_its_keys():
    with pytest.raises(ValueError, match="STRIPE_API_KEY"):
        build_provider(load_settings(payment_provider="stripe", stripe_api_key="", stripe_webhook_secret=""), "x")
    with pytest.raises(ValueError, match="PAYMENT_PROVIDER"):
        build_provider(load_settings(payment_provider="paypal"), "x")


# --- against stripe-mock ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stripe_provider(stripe_mock):
    return StripeProvider(STRIPE_KEY, STRIPE_WEBHOOK_SECRET, api_base=stripe_mock)


def _checkout_provider(payment_id: int) -> str:
    with read_session() as session:
        return session.scalars(select(PaymentCheckout.provider).where(PaymentCheckout.payment_id == payment_id)).one()


def test_checkout_is_a_payment_intent_and_lookup_asks_stripe(stripe_provider, user_id):
    payment_id = pending_payment(user_id, "family")
    opened = check_out(stripe_provider, user_id, payment_id, "unused-by-stripe")
    assert opened["checkout_id"].startswith("pi_") and opened["client_secret"]
    assert _checkout_provider(payment_id) == "stripe"
    seen = stripe_provider.lookup(opened["checkout_id"])
    assert seen.status == PENDING and seen.detail.startswith("requires_payment_method")
    # the SDK sends our idempotency key; stripe-mock accepts it (Stripe would return the same intent)
    request = CheckoutRequest("ref", payment_id, price_of("family"), "USD", f"CinemaAbyss family #{payment_id}", "")
    assert stripe_provider.create_checkout(request, idempotency_key=checkout_key(payment_id)).checkout_id


def test_stripe_checkout_webhook_subscription_and_refund(stripe_provider, stripe_payments_service, user_id):
    """The closing run: checkout at stripe-mock → signed webhook → completed → period; refund → taken back."""
    webhook = f"{stripe_payments_service.url}/api/payments/webhook"
    payment_id = pending_payment(user_id, "premium")
    opened = check_out(stripe_provider, user_id, payment_id, "unused-by-stripe")
    intent_id = opened["checkout_id"]
    print(f"\ncheckout: payment {payment_id} → PaymentIntent {intent_id} at stripe-mock")

    forged = httpx.post(webhook, content=_signed(_event("payment_intent.succeeded",
                                                        _intent(intent_id, payment_id, price_of("premium"))),
                                                 secret="whsec_forged")[0],
                        headers=_signed(_event("x", {}), secret="whsec_forged")[1])
    assert forged.status_code == 401 and _status(payment_id) == "pending"

    succeeded = _event("payment_intent.succeeded", _intent(intent_id, payment_id, price_of("premium")))
    answer = httpx.post(webhook, content=_signed(succeeded)[0], headers=_signed(succeeded)[1])
    print(f"webhook payment_intent.succeeded {succeeded['id']}: {answer.status_code} {answer.json()}")
    assert answer.status_code == 200 and answer.json()["status"] == "completed"
    replay = httpx.post(webhook, content=_signed(succeeded)[0], headers=_signed(succeeded)[1])
    assert replay.status_code == 400 and "replay" in replay.json()["error"]
    assert _react(payment_id) == "subscription.created"
    with read_session() as session:
        period = session.scalars(select(Subscription).where(Subscription.payment_id == payment_id)).one()
        print(f"subscription: {period.plan_type} {period.start_date:%Y-%m-%d} → {period.end_date:%Y-%m-%d}")
        assert period.plan_type == "premium" and period.end_date - period.start_date == timedelta(days=30)

    assert checkout.request_refund(payment_id, stripe_provider, "", actor=ADMIN)["refund"] == "requested"
    assert checkout.request_refund(payment_id, stripe_provider, "", actor=ADMIN)["refund"] == "already requested"
    refunded = _event("charge.refunded", _charge(intent_id, price_of("premium")))
    answer = httpx.post(webhook, content=_signed(refunded)[0], headers=_signed(refunded)[1])
    print(f"webhook charge.refunded {refunded['id']}: {answer.status_code} {answer.json()}")
    assert answer.status_code == 200 and _status(payment_id) == "refunded"
    with read_session() as session:
        period = session.scalars(select(Subscription).where(Subscription.payment_id == payment_id)).one()
        assert period.end_date - period.start_date < timedelta(minutes=1)
    assert [status for _, status in _audit(payment_id)] == ["completed", "refunded"]
    assert {actor for actor, _ in _audit(payment_id)} == {"stripe-webhook"}


def test_an_underpaid_or_failed_intent_fails_the_payment(stripe_provider, stripe_payments_service, user_id):
    webhook = f"{stripe_payments_service.url}/api/payments/webhook"
    underpaid = pending_payment(user_id, "family")
    intent = check_out(stripe_provider, user_id, underpaid, "")["checkout_id"]
    event = _event("payment_intent.succeeded", _intent(intent, underpaid, Decimal("0.50")))
    assert httpx.post(webhook, content=_signed(event)[0], headers=_signed(event)[1]).status_code == 200
    assert _status(underpaid) == "failed"

    declined = pending_payment(user_id, "basic")
    intent = check_out(stripe_provider, user_id, declined, "")["checkout_id"]
    event = _event("payment_intent.payment_failed", _intent(intent, declined, price_of("basic")))
    assert httpx.post(webhook, content=_signed(event)[0], headers=_signed(event)[1]).status_code == 200
    assert _status(declined) == "failed"

    other = _event("customer.created", {"id": "cus_1", "object": "customer"})
    ignored = httpx.post(webhook, content=_signed(other)[0], headers=_signed(other)[1])
    assert ignored.status_code == 200 and ignored.json()["ignored"] is True
