"""Adapter of the sandbox provider process (``python -m domain_services.payment_sandbox``).

HTTP with a bearer API key; requests carry an ``Idempotency-Key`` as Stripe's do; webhooks
are signed with ``Cinemaabyss-Signature`` (``webhooks.py``) using the same shared secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

import httpx

from domain_services.payments import webhooks
from domain_services.payments.provider import (
    PENDING,
    UNKNOWN,
    Checkout,
    CheckoutRequest,
    ProviderStatus,
    ProviderUnavailable,
    VerifiedEvent,
)

#: The sandbox's event types and checkout statuses in the domain's words.
EVENT_OUTCOMES = {"checkout.completed": "completed", "checkout.failed": "failed", "charge.refunded": "refunded"}
STATUS_OUTCOMES = {"open": PENDING, "succeeded": "completed", "failed": "failed", "refunded": "refunded"}


class SandboxProvider:
    """The sandbox provider, as a :class:`~domain_services.payments.provider.PaymentProvider`."""

    name = "sandbox"

    def __init__(self, base_url: str, secret: str, *, tolerance: int = 300, timeout: float = 5.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._secret, self._tolerance = secret, tolerance
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
            headers={"Authorization": f"Bearer {secret}"},
        )

    def _call(self, method: str, path: str, *, payload: dict | None = None, key: str | None = None,
              missing_ok: bool = False) -> dict | None:
        headers = {"Idempotency-Key": key} if key else {}
        try:
            response = self._client.request(method, path, json=payload, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"payment provider unreachable: {exc.__class__.__name__}") from None
        if missing_ok and response.status_code == 404:
            return None
        if response.status_code >= 300:
            raise ProviderUnavailable(f"payment provider refused the request ({response.status_code})")
        return response.json()

    @staticmethod
    def _body(request: CheckoutRequest) -> dict:
        return {
            "reference": request.reference, "payment_id": request.payment_id, "amount": str(request.amount),
            "currency": request.currency, "description": request.description, "callback_url": request.callback_url,
        }

    def create_checkout(self, request: CheckoutRequest, *, idempotency_key: str) -> Checkout:
        """``POST /v1/checkouts``."""
        answer = self._call("POST", "/v1/checkouts", payload=self._body(request), key=idempotency_key)
        return Checkout(checkout_id=str(answer["checkout_id"]), redirect_url=answer.get("redirect_url"))

    def refund(self, request: CheckoutRequest, checkout_id: str, *, idempotency_key: str) -> None:
        """``POST /v1/refunds``."""
        self._call("POST", "/v1/refunds", payload={**self._body(request), "checkout_id": checkout_id},
                   key=idempotency_key)

    def lookup(self, checkout_id: str) -> ProviderStatus:
        """``GET /v1/checkouts/<id>``; a checkout the sandbox does not know (it was restarted) is ``unknown``."""
        answer = self._call("GET", f"/v1/checkouts/{checkout_id}", missing_ok=True)
        if answer is None:
            return ProviderStatus(checkout_id, UNKNOWN, None, "not found at the provider")
        word = str(answer.get("status"))
        return ProviderStatus(checkout_id, STATUS_OUTCOMES.get(word, UNKNOWN), _amount(answer.get("amount")), word)

    def verify_event(self, body: bytes, headers: Mapping[str, str], *, now: float) -> VerifiedEvent:
        """Verify ``Cinemaabyss-Signature``; read ``{id, type, data: {reference, payment_id, amount, checkout_id}}``."""
        webhooks.verify(headers.get(webhooks.SIGNATURE_HEADER), body, self._secret, now=now, tolerance=self._tolerance)
        try:
            event = json.loads(body)
            data = event["data"]
            event_id, event_type = str(event["id"]), str(event["type"])
            reference, payment_id = str(data["reference"]), int(data["payment_id"])
            checkout_id = str(data["checkout_id"]) if data.get("checkout_id") is not None else None
            amount = _amount(data.get("amount"))
        except (ValueError, KeyError, TypeError, InvalidOperation):
            raise webhooks.WebhookRejected("callback body is not a provider event") from None
        if event_type not in EVENT_OUTCOMES or not 0 < len(event_id) <= 100:
            raise webhooks.WebhookRejected(f"unsupported event type {event_type!r}")
        return VerifiedEvent(event_id, event_type, EVENT_OUTCOMES[event_type], checkout_id, reference, payment_id,
                             amount)

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()


def _amount(value: object) -> Decimal | None:
    """A decimal amount from JSON (sent as a string), or None."""
    return None if value is None else Decimal(str(value))
