"""Paying through the provider: open a checkout, take the provider's signed callback.

``start_checkout`` records a checkout reference for a pending payment, then asks the
provider to take the money. The provider reports back with a signed callback;
``handle_callback`` verifies it (``webhooks.py``), claims its event id once and moves the
payment: ``checkout.completed`` for the full amount → ``completed`` (which, for a plan,
extends the subscription through the ``payment.completed`` event); a different amount or
``checkout.failed`` → ``failed``; ``charge.refunded`` → ``refunded``. A forged, stale,
replayed or unknown callback changes nothing, is logged and answered 4xx.
"""

from __future__ import annotations

import json
import logging
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from domain_services.payments import webhooks
from domain_services.payments.models import Payment, PaymentCheckout, ProviderEvent
from domain_services.payments.plans import CURRENCY
from domain_services.payments.provider import CheckoutRequest, PaymentProvider
from domain_services.payments.services import load_payment, to_dict, transition
from kernel.db import read_session, unit_of_work
from kernel.errors import Conflict
from kernel.identity import PRIVILEGED, Identity, require_owner, require_role

log = logging.getLogger(__name__)

EVENT_TYPES = ("checkout.completed", "checkout.failed", "charge.refunded")


def next_status(event_type: str, current: str, paid: Decimal | None, amount: Decimal) -> str | None:
    """The status a callback moves a payment to, or None when it does not apply (logged, ignored).

    Only a ``checkout.completed`` for exactly the payment's amount completes it; any other
    amount fails it, so an underpaid plan never extends a subscription.
    """
    if event_type == "checkout.completed" and current == "pending":
        return "completed" if paid == amount else "failed"
    if event_type == "checkout.failed" and current == "pending":
        return "failed"
    if event_type == "charge.refunded" and current == "completed":
        return "refunded"
    return None


def _checkout_of(session: Session, payment_id: int) -> PaymentCheckout | None:
    return session.scalars(select(PaymentCheckout).where(PaymentCheckout.payment_id == payment_id)).first()


def _request(payment: Payment, reference: str, callback_url: str) -> CheckoutRequest:
    return CheckoutRequest(
        reference=reference, payment_id=payment.id, amount=Decimal(payment.amount), currency=CURRENCY,
        description=f"CinemaAbyss {payment.plan_type or 'payment'} #{payment.id} ({payment.payment_method or 'card'})",
        callback_url=callback_url,
    )


def start_checkout(payment_id: int, provider: PaymentProvider, callback_url: str, *, actor: Identity) -> dict[str, Any]:
    """Open a provider checkout for the caller's pending payment (one per payment)."""
    reference = uuid.uuid4().hex
    with unit_of_work() as uow:
        payment = load_payment(uow.session, payment_id, lock=True)
        require_owner(actor, payment.user_id, f"payment {payment_id}")
        if payment.status != "pending":
            raise Conflict(f"payment {payment_id} is {payment.status}, not pending")
        if _checkout_of(uow.session, payment_id) is not None:
            raise Conflict(f"payment {payment_id} already has a checkout")
        # Written before the provider is called, so even an instant callback finds it.
        uow.session.execute(insert(PaymentCheckout).values(reference=reference, payment_id=payment_id,
                                                           provider=provider.name))
        request = _request(payment, reference, callback_url)
    try:
        checkout = provider.create_checkout(request)
    except Exception:
        with unit_of_work() as uow:  # the payment may be checked out again
            uow.session.execute(delete(PaymentCheckout).where(PaymentCheckout.reference == reference))
        raise
    with unit_of_work() as uow:
        uow.session.get(PaymentCheckout, reference).provider_checkout_id = checkout.checkout_id
    return {"payment_id": payment_id, "status": "pending", "checkout_id": checkout.checkout_id,
            "redirect_url": checkout.redirect_url}


def request_refund(payment_id: int, provider: PaymentProvider, callback_url: str, *, actor: Identity) -> dict[str, Any]:
    """Ask the provider to refund a completed payment (the payment side only); confirmed by callback."""
    require_role(actor, PRIVILEGED, "refunding a payment")
    with read_session() as session:
        payment = load_payment(session, payment_id)
        checkout = _checkout_of(session, payment_id)
        if payment.status != "completed" or checkout is None or checkout.provider_checkout_id is None:
            raise Conflict(f"payment {payment_id} was not completed through the provider")
        request = _request(payment, checkout.reference, callback_url)
        provider_checkout_id = checkout.provider_checkout_id
    provider.refund(request, provider_checkout_id)
    return {"payment_id": payment_id, "status": "completed", "refund": "requested"}


def _event(body: bytes) -> tuple[str, str, str, int, Decimal | None]:
    """``(event id, type, reference, payment id, amount)`` of a verified callback body."""
    try:
        event = json.loads(body)
        data = event["data"]
        event_id, event_type, reference = str(event["id"]), str(event["type"]), str(data["reference"])
        payment_id = int(data["payment_id"])
        amount = Decimal(str(data["amount"])) if data.get("amount") is not None else None
    except (ValueError, KeyError, TypeError, InvalidOperation):
        raise webhooks.WebhookRejected("callback body is not a provider event") from None
    if event_type not in EVENT_TYPES or not 0 < len(event_id) <= 100:
        raise webhooks.WebhookRejected(f"unsupported event type {event_type!r}")
    return event_id, event_type, reference, payment_id, amount


def handle_callback(
    body: bytes, signature_header: str | None, secret: str, *, provider: str, now: float, tolerance: int
) -> dict[str, Any]:
    """Apply one signed provider callback; :class:`webhooks.WebhookRejected` if it must change nothing."""
    webhooks.verify(signature_header, body, secret, now=now, tolerance=tolerance)
    event_id, event_type, reference, payment_id, paid = _event(body)
    with unit_of_work() as uow:
        claimed = uow.session.execute(
            pg_insert(ProviderEvent)
            .values(event_id=event_id, provider=provider, event_type=event_type, payment_id=payment_id)
            .on_conflict_do_nothing()
            .returning(ProviderEvent.event_id)
        ).first()
        if claimed is None:
            raise webhooks.WebhookRejected(f"event {event_id} was already processed (replay)")
        checkout = uow.session.get(PaymentCheckout, reference)
        if checkout is None or checkout.payment_id != payment_id:
            raise webhooks.WebhookRejected(f"no checkout {reference} for payment {payment_id}")
        payment = load_payment(uow.session, payment_id, lock=True)
        status = next_status(event_type, payment.status, paid, Decimal(payment.amount))
        if status is None:
            log.warning("provider event %s (%s) does not apply to payment %s in status %s; ignored",
                        event_id, event_type, payment_id, payment.status)
        else:
            if status == "failed" and event_type == "checkout.completed":
                log.warning("payment %s: provider reported %s paid, %s due; marked failed",
                            payment_id, paid, payment.amount)
            transition(uow, payment, status)
        result = {**to_dict(payment), "status": payment.status, "event_id": event_id}
    log.info("provider event %s (%s): payment %s is %s", event_id, event_type, payment_id, result["status"])
    return result
