"""Stripe, through its official SDK, as a :class:`~domain_services.payments.provider.PaymentProvider`.

* Checkout is a PaymentIntent: the plan's amount in cents and currency, the payment id in
  ``metadata``, an idempotency key per payment; the payer confirms it with Stripe.js using
  the ``client_secret`` the checkout answer carries.
* A refund is one Refund of the PaymentIntent, with the payment's refund idempotency key.
* Lookup (reconciliation) retrieves the PaymentIntent with its latest charge.
* Webhooks are verified by the SDK (``Stripe-Signature``, ``STRIPE_WEBHOOK_SECRET``, the
  tolerance of ``PAYMENT_WEBHOOK_TOLERANCE_SECONDS`` against this machine's clock) and mapped:
  ``payment_intent.succeeded`` → completed, ``payment_intent.payment_failed`` → failed,
  ``charge.refunded`` (in full) → refunded; any other type is acknowledged and not acted on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import stripe

from domain_services.payments import webhooks
from domain_services.payments.plans import CURRENCY
from domain_services.payments.provider import (
    PENDING,
    UNKNOWN,
    Checkout,
    CheckoutRequest,
    ProviderStatus,
    ProviderUnavailable,
    VerifiedEvent,
    minor_units,
)
from kernel.settings import Settings

SIGNATURE_HEADER = "Stripe-Signature"
#: PaymentIntent statuses that still wait for the payer or the bank.
WAITING = ("requires_payment_method", "requires_confirmation", "requires_action", "processing", "requires_capture")


class StripeProvider:
    """Stripe's API (or stripe-mock, via ``STRIPE_API_BASE``) through ``stripe.StripeClient``."""

    name = "stripe"

    def __init__(self, api_key: str, webhook_secret: str, *, api_base: str = "", tolerance: int = 300,
                 max_network_retries: int = 2) -> None:
        base = {"api": api_base.rstrip("/")} if api_base else None
        # The SDK retries connection errors and 5xx itself, reusing the idempotency key.
        self._client = stripe.StripeClient(api_key, base_addresses=base, max_network_retries=max_network_retries)
        self._webhook_secret, self._tolerance = webhook_secret, tolerance

    @classmethod
    def from_settings(cls, settings: Settings) -> StripeProvider:
        """Keys from ``STRIPE_API_KEY`` / ``STRIPE_WEBHOOK_SECRET``; ``ValueError`` when either is missing."""
        if not settings.stripe_api_key or not settings.stripe_webhook_secret:
            raise ValueError("PAYMENT_PROVIDER=stripe needs STRIPE_API_KEY and STRIPE_WEBHOOK_SECRET")
        return cls(settings.stripe_api_key, settings.stripe_webhook_secret, api_base=settings.stripe_api_base,
                   tolerance=settings.payment_webhook_tolerance_seconds)

    def create_checkout(self, request: CheckoutRequest, *, idempotency_key: str) -> Checkout:
        """Create the payment's PaymentIntent (the same one again for a retried request)."""
        params = {"amount": minor_units(request.amount), "currency": request.currency.lower(),
                  "description": request.description, "metadata": {"payment_id": str(request.payment_id)},
                  "automatic_payment_methods": {"enabled": True}}
        intent = _call(self._client.v1.payment_intents.create, params=params,
                       options={"idempotency_key": idempotency_key})
        return Checkout(checkout_id=intent.id, redirect_url=None, client_secret=intent.client_secret)

    def refund(self, request: CheckoutRequest, checkout_id: str, *, idempotency_key: str) -> None:
        """Refund the PaymentIntent in full; a repeat with the same key is the same Refund."""
        _call(self._client.v1.refunds.create,
              params={"payment_intent": checkout_id, "metadata": {"payment_id": str(request.payment_id)}},
              options={"idempotency_key": idempotency_key})

    def lookup(self, checkout_id: str) -> ProviderStatus:
        """The PaymentIntent's status (with its latest charge, to see a refund) in the domain's words."""
        intent = _call(self._client.v1.payment_intents.retrieve, checkout_id, params={"expand": ["latest_charge"]},
                       missing_ok=True)
        if intent is None:
            return ProviderStatus(checkout_id, UNKNOWN, None, "no such PaymentIntent")
        charge = intent.latest_charge if not isinstance(intent.latest_charge, str) else None
        status = intent_status(intent.status, bool(charge and charge.refunded))
        detail = intent.status + (" (last attempt declined)" if intent.last_payment_error else "")
        return ProviderStatus(checkout_id, status, Decimal(intent.amount_received or 0) / 100, detail)

    def verify_event(self, body: bytes, headers: Mapping[str, str], *, now: float) -> VerifiedEvent:
        """Verify ``Stripe-Signature`` with the SDK and read the event (the SDK uses its own clock)."""
        header = headers.get(SIGNATURE_HEADER)
        if not header:
            raise webhooks.WebhookRejected(f"missing {SIGNATURE_HEADER} header", 401)
        try:
            stripe.Webhook.construct_event(body.decode(), header, self._webhook_secret, tolerance=self._tolerance)
        except stripe.SignatureVerificationError as exc:
            stale = "tolerance" in str(exc)  # signed right, but too old or from the future
            raise webhooks.WebhookRejected(str(exc.user_message or exc), 400 if stale else 401) from None
        except (ValueError, UnicodeDecodeError):
            raise webhooks.WebhookRejected("callback body is not a Stripe event") from None
        return read_event(json.loads(body))


def _call(method: Any, *args: Any, missing_ok: bool = False, **kwargs: Any) -> Any:
    """Call the SDK; any Stripe error is :class:`ProviderUnavailable` (a 404 is None when ``missing_ok``)."""
    try:
        return method(*args, **kwargs)
    except stripe.StripeError as exc:
        if missing_ok and exc.http_status == 404:
            return None
        raise ProviderUnavailable(f"Stripe refused the request ({exc.http_status or exc.__class__.__name__}): "
                                  f"{exc.user_message or exc.code or ''}") from None


def intent_status(status: str, refunded: bool) -> str:
    """A PaymentIntent's status in the domain's words.

    ``pending`` while the payer may still pay — also after a declined attempt: the same
    PaymentIntent can still succeed with another card, so only ``canceled`` is final failure
    for reconciliation (the ``payment_intent.payment_failed`` webhook still fails it at once).
    """
    if status == "succeeded":
        return "refunded" if refunded else "completed"
    if status == "canceled":
        return "failed"
    return PENDING if status in WAITING else UNKNOWN


def _metadata_payment_id(obj: dict[str, Any]) -> int | None:
    value = (obj.get("metadata") or {}).get("payment_id")
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10 else None


def _amount(cents: Any, currency: Any) -> Decimal | None:
    if not isinstance(cents, int) or str(currency).upper() != CURRENCY:
        return None  # another currency never equals a plan's price
    return Decimal(cents) / 100


def read_event(event: dict[str, Any]) -> VerifiedEvent:
    """A verified Stripe event in the domain's words; ``WebhookRejected`` if it is not shaped like one."""
    try:
        event_id, event_type, obj = str(event["id"]), str(event["type"]), event["data"]["object"]
        if not 0 < len(event_id) <= 100 or not isinstance(obj, dict):
            raise ValueError(event_id)
        payment_id = _metadata_payment_id(obj)
        if event_type in ("payment_intent.succeeded", "payment_intent.payment_failed"):
            outcome = "completed" if event_type == "payment_intent.succeeded" else "failed"
            return VerifiedEvent(event_id, event_type, outcome, str(obj["id"]), None, payment_id,
                                 _amount(obj.get("amount_received"), obj.get("currency")))
        if event_type == "charge.refunded" and obj.get("refunded") is True:
            return VerifiedEvent(event_id, event_type, "refunded", str(obj["payment_intent"]), None, payment_id,
                                 _amount(obj.get("amount_refunded"), obj.get("currency")))
    except (KeyError, TypeError, ValueError):
        raise webhooks.WebhookRejected("callback body is not a Stripe event") from None
    return VerifiedEvent(event_id, event_type, None, None, None, payment_id, None)
