"""YooKassa, through its official ``yookassa`` SDK, as a :class:`~domain_services.payments.provider.PaymentProvider`.

* Checkout is a YooKassa payment (``capture: true``, redirect confirmation back to the site,
  ``metadata.payment_id``, the payment's idempotency key as ``Idempotence-Key``); the payer
  goes to ``confirmation.confirmation_url``.
* A refund is one Refund of the whole amount, with the payment's refund idempotency key.
* Lookup: ``succeeded`` → completed (refunded once ``refunded_amount`` is the whole amount),
  ``canceled`` → failed, ``pending`` / ``waiting_for_capture`` → pending.
* YooKassa does not sign its notifications. The adapter therefore trusts nothing in them but
  the object id: it reads the payment (or refund) back from the API and settles on what the
  API says; a notification that the API contradicts is refused. The event id is derived from
  the object and event (``yookassa:<id>:<event>``), so each is claimed once.

The SDK keeps its credentials in a process-wide ``Configuration``: one shop per process.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from yookassa import Configuration, Payment, Refund
from yookassa.domain.exceptions import ApiError, NotFoundError

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
)
from kernel.settings import Settings

STATUSES = {"pending": PENDING, "waiting_for_capture": PENDING, "succeeded": "completed", "canceled": "failed"}
PAYMENT_EVENTS = {"payment.succeeded": "completed", "payment.canceled": "failed"}
REFUND_EVENT = "refund.succeeded"


class YooKassaProvider:
    """YooKassa's API (``YOOKASSA_API_URL``: the real one, or recorded answers in tests)."""

    name = "yookassa"

    def __init__(self, shop_id: str, secret_key: str, *, return_url: str, api_url: str = "") -> None:
        options = {"api_url": api_url.rstrip("/")} if api_url else {}
        Configuration.configure(shop_id, secret_key, **options)
        self._return_url = return_url

    @classmethod
    def from_settings(cls, settings: Settings) -> YooKassaProvider:
        """Credentials from ``YOOKASSA_SHOP_ID`` / ``YOOKASSA_SECRET_KEY``; ``ValueError`` when missing."""
        if not settings.yookassa_shop_id or not settings.yookassa_secret_key:
            raise ValueError("PAYMENT_PROVIDER=yookassa needs YOOKASSA_SHOP_ID and YOOKASSA_SECRET_KEY")
        return cls(settings.yookassa_shop_id, settings.yookassa_secret_key, api_url=settings.yookassa_api_url,
                   return_url=settings.proxy_url.rstrip("/") + "/")

    def create_checkout(self, request: CheckoutRequest, *, idempotency_key: str) -> Checkout:
        """Create the YooKassa payment; the payer confirms it at ``confirmation_url``."""
        params = {"amount": {"value": f"{request.amount:.2f}", "currency": request.currency},
                  "confirmation": {"type": "redirect", "return_url": self._return_url}, "capture": True,
                  "description": request.description[:128], "metadata": {"payment_id": str(request.payment_id)}}
        payment = _call(Payment.create, params, idempotency_key)
        url = payment.confirmation.confirmation_url if payment.confirmation is not None else None
        return Checkout(checkout_id=payment.id, redirect_url=url)

    def refund(self, request: CheckoutRequest, checkout_id: str, *, idempotency_key: str) -> None:
        """Refund the whole payment; a repeat with the same key is the same Refund."""
        _call(Refund.create, {"payment_id": checkout_id,
                              "amount": {"value": f"{request.amount:.2f}", "currency": request.currency}},
              idempotency_key)

    def lookup(self, checkout_id: str) -> ProviderStatus:
        """The payment as YooKassa has it now."""
        try:
            payment = _call(Payment.find_one, checkout_id)
        except _Missing:
            return ProviderStatus(checkout_id, UNKNOWN, None, "no such payment at YooKassa")
        return ProviderStatus(checkout_id, payment_status(payment), _amount(payment.amount), payment.status)

    def verify_event(self, body: bytes, headers: Mapping[str, str], *, now: float) -> VerifiedEvent:
        """Read the notification's object id and event, and settle on what the API says about that object."""
        try:
            note = json.loads(body)
            event_type, object_id = str(note["event"]), str(note["object"]["id"])
            if note.get("type") != "notification" or not 0 < len(object_id) <= 60:
                raise ValueError(object_id)
        except (ValueError, KeyError, TypeError):
            raise webhooks.WebhookRejected("callback body is not a YooKassa notification") from None
        event_id = f"yookassa:{object_id}:{event_type}"[:100]
        if event_type in PAYMENT_EVENTS:
            payment = self._read(Payment.find_one, object_id)
            return self._confirmed(event_id, event_type, PAYMENT_EVENTS[event_type], payment, _amount(payment.amount))
        if event_type == REFUND_EVENT:
            refund = self._read(Refund.find_one, object_id)
            payment = self._read(Payment.find_one, refund.payment_id)
            return self._confirmed(event_id, event_type, "refunded", payment, _amount(refund.amount))
        return VerifiedEvent(event_id, event_type, None, None, None, None, None)

    @staticmethod
    def _read(find: Any, object_id: str) -> Any:
        try:
            return _call(find, object_id)
        except _Missing:
            raise webhooks.WebhookRejected(f"YooKassa knows no object {object_id}") from None

    @staticmethod
    def _confirmed(event_id: str, event_type: str, outcome: str, payment: Any, amount: Decimal | None) -> VerifiedEvent:
        if payment_status(payment) != outcome:
            raise webhooks.WebhookRejected(f"{event_type} contradicts YooKassa: payment {payment.id} "
                                           f"is {payment.status}")
        metadata = payment.metadata or {}
        payment_id = metadata.get("payment_id")
        ours = int(payment_id) if isinstance(payment_id, str) and payment_id.isascii() and payment_id.isdigit() \
            and len(payment_id) < 10 else None
        return VerifiedEvent(event_id, event_type, outcome, payment.id, None, ours, amount)


class _Missing(Exception):
    """YooKassa answered 404."""


def _call(method: Any, *args: Any) -> Any:
    """Call the SDK; a 404 is :class:`_Missing`, anything else that goes wrong :class:`ProviderUnavailable`."""
    try:
        return method(*args)
    except NotFoundError:
        raise _Missing from None
    except (ApiError, OSError, AttributeError, ValueError) as exc:
        # the SDK turns a connection failure into AttributeError (it reads the missing response)
        raise ProviderUnavailable(f"YooKassa refused or is unreachable: {exc.__class__.__name__}") from None


def payment_status(payment: Any) -> str:
    """A YooKassa payment's status in the domain's words (refunded once the whole amount went back)."""
    status = STATUSES.get(payment.status, UNKNOWN)
    refunded = payment.refunded_amount
    if status == "completed" and refunded is not None and payment.amount is not None \
            and Decimal(str(refunded.value)) >= Decimal(str(payment.amount.value)):
        return "refunded"
    return status


def _amount(amount: Any) -> Decimal | None:
    """A YooKassa amount in the plans' currency, else None (another currency never equals a price)."""
    if amount is None or str(amount.currency) != CURRENCY:
        return None
    return Decimal(str(amount.value))
