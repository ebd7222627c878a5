"""Paying through the provider: open a checkout, ask for a refund once, take the provider's webhooks.

``start_checkout`` records a checkout reference for a pending payment, then asks the
provider to take the money (an idempotency key per payment: a retried request never opens
a second checkout). The provider reports back with a signed webhook; ``handle_callback``
has the provider adapter verify it and settles the payment (``settlement.py``): completed
for the full amount (which, for a plan, buys a period through the ``payment.completed``
event), failed, or refunded. A forged, stale, replayed or unknown callback changes
nothing, is logged and answered 4xx.

``request_refund`` sends at most one refund request per payment: the first caller marks
the checkout under the payment's row lock, later and concurrent callers see the mark.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from domain_services.payments.models import Payment, PaymentCheckout
from domain_services.payments.plans import CURRENCY
from domain_services.payments.provider import CheckoutRequest, PaymentProvider, checkout_key, refund_key
from domain_services.payments.services import load_payment
from domain_services.payments.settlement import settle
from kernel.db import unit_of_work
from kernel.envelope import utcnow
from kernel.errors import Conflict
from kernel.identity import PRIVILEGED, Identity, require_owner, require_role

log = logging.getLogger(__name__)


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
    # committed at once, even inside an exactly-once request: an instant callback must find it
    with unit_of_work(own_transaction=True) as uow:
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
        checkout = provider.create_checkout(request, idempotency_key=checkout_key(payment_id))
    except Exception:
        with unit_of_work(own_transaction=True) as uow:  # the payment may be checked out again
            uow.session.execute(delete(PaymentCheckout).where(PaymentCheckout.reference == reference))
        raise
    with unit_of_work() as uow:
        uow.session.get(PaymentCheckout, reference).provider_checkout_id = checkout.checkout_id
    answer = {"payment_id": payment_id, "status": "pending", "checkout_id": checkout.checkout_id,
              "redirect_url": checkout.redirect_url}
    if checkout.client_secret:
        answer["client_secret"] = checkout.client_secret
    return answer


def request_refund(payment_id: int, provider: PaymentProvider, callback_url: str, *, actor: Identity) -> dict[str, Any]:
    """Ask the provider to refund a completed payment (the payment side only); confirmed by webhook.

    Only the first call sends a request (with the payment's refund idempotency key); a call
    while or after it was sent answers ``already requested`` and sends nothing. A request the
    provider refused is unmarked, so it may be asked again.
    """
    require_role(actor, PRIVILEGED, "refunding a payment")
    with unit_of_work(own_transaction=True) as uow:  # the marker must stand before the provider hears of it
        payment = load_payment(uow.session, payment_id, lock=True)  # orders concurrent refund calls
        checkout = _checkout_of(uow.session, payment_id)
        if payment.status != "completed" or checkout is None or checkout.provider_checkout_id is None:
            raise Conflict(f"payment {payment_id} was not completed through the provider")
        if checkout.refund_requested_at is not None:
            return {"payment_id": payment_id, "status": payment.status, "refund": "already requested"}
        checkout.refund_requested_at = utcnow()
        request = _request(payment, checkout.reference, callback_url)
        provider_checkout_id = checkout.provider_checkout_id
    try:
        provider.refund(request, provider_checkout_id, idempotency_key=refund_key(payment_id))
    except Exception:
        with unit_of_work(own_transaction=True) as uow:
            uow.session.execute(update(PaymentCheckout).where(PaymentCheckout.reference == request.reference)
                                .values(refund_requested_at=None))
        raise
    return {"payment_id": payment_id, "status": "completed", "refund": "requested"}


def handle_callback(body: bytes, headers: Mapping[str, str], provider: PaymentProvider, *,
                    now: float) -> dict[str, Any]:
    """Apply one signed provider webhook; ``webhooks.WebhookRejected`` if it must change nothing."""
    event = provider.verify_event(body, headers, now=now)
    if event.outcome is None:  # a verified event of a type we do not act on: acknowledged, nothing changes
        log.info("provider event %s (%s) acknowledged, not acted on", event.event_id, event.event_type)
        return {"event_id": event.event_id, "ignored": True}
    return settle(event, provider=provider.name, actor=f"{provider.name}-webhook")
