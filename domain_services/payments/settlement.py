"""Settling a payment from what its provider says: one function for webhooks and reconciliation.

:func:`settle` claims the event id once (``provider_events``: a replay changes nothing),
finds the checkout by our reference or the provider's checkout id, locks the payment and
moves it (:func:`next_status`). Every change writes, in the same transaction, the payment
event (outbox) and an audit row (``flag_audit``, action ``payment.settled``) naming who
settled it: the provider's webhook or the reconciler.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from domain_services.payments import webhooks
from domain_services.payments.models import PaymentCheckout, ProviderEvent
from domain_services.payments.provider import VerifiedEvent
from domain_services.payments.services import load_payment, to_dict, transition
from kernel.db import unit_of_work
from kernel.models import FlagAudit

log = logging.getLogger(__name__)

AUDIT_ACTION = "payment.settled"
AUDIT_DOMAIN = "payments"


def next_status(outcome: str | None, current: str, paid: Decimal | None, amount: Decimal) -> str | None:
    """The status an outcome moves a payment to, or None when it does not apply (logged, ignored).

    Only ``completed`` for exactly the payment's amount completes it; any other amount fails
    it, so an underpaid plan never buys a period.
    """
    if outcome == "completed" and current == "pending":
        return "completed" if paid == amount else "failed"
    if outcome == "failed" and current == "pending":
        return "failed"
    if outcome == "refunded" and current == "completed":
        return "refunded"
    return None


def find_checkout(session: Session, reference: str | None, checkout_id: str | None) -> PaymentCheckout | None:
    """The checkout by our reference, else by the provider's checkout id."""
    if reference:
        found = session.get(PaymentCheckout, reference)
        if found is not None:
            return found
    if checkout_id:
        query = select(PaymentCheckout).where(PaymentCheckout.provider_checkout_id == checkout_id)
        return session.scalars(query).first()
    return None


def settle(event: VerifiedEvent, *, provider: str, actor: str) -> dict[str, Any]:
    """Apply one verified provider event; :class:`webhooks.WebhookRejected` if it must change nothing.

    Returns the payment (contract shape) with its ``status`` and the ``event_id``; an event
    whose outcome does not apply (a late ``failed`` after completion) is claimed and ignored.
    """
    with unit_of_work() as uow:
        claimed = uow.session.execute(
            pg_insert(ProviderEvent)
            .values(event_id=event.event_id, provider=provider, event_type=event.event_type[:64],
                    payment_id=event.payment_id)
            .on_conflict_do_nothing()
            .returning(ProviderEvent.event_id)
        ).first()
        if claimed is None:
            raise webhooks.WebhookRejected(f"event {event.event_id} was already processed (replay)")
        checkout = find_checkout(uow.session, event.reference, event.checkout_id)
        if checkout is None or (event.payment_id is not None and checkout.payment_id != event.payment_id):
            raise webhooks.WebhookRejected(f"no checkout {event.reference or event.checkout_id} "
                                           f"for payment {event.payment_id}")
        payment = load_payment(uow.session, checkout.payment_id, lock=True)
        before = payment.status
        status = next_status(event.outcome, before, event.amount, Decimal(payment.amount))
        if status is None:
            log.warning("provider event %s (%s) does not apply to payment %s in status %s; ignored",
                        event.event_id, event.event_type, payment.id, before)
        else:
            if status == "failed" and event.outcome == "completed":
                log.warning("payment %s: provider reported %s paid, %s due; marked failed",
                            payment.id, event.amount, payment.amount)
            transition(uow, payment, status)
            uow.session.add(FlagAudit(
                actor=actor, action=AUDIT_ACTION, domain=AUDIT_DOMAIN, before={"payment_id": payment.id,
                                                                               "status": before},
                after={"payment_id": payment.id, "status": status, "event_id": event.event_id,
                       "event_type": event.event_type, "provider": provider},
                reason=f"{provider} {event.event_type}",
            ))
        result = {**to_dict(payment), "status": payment.status, "event_id": event.event_id}
    log.info("provider event %s (%s): payment %s is %s", event.event_id, event.event_type, result["id"],
             result["status"])
    return result
