"""Cross-domain reaction: a completed payment for a plan buys its period (``periods.py``).

Only a payment that *is* completed and fully paid counts: the event is a hint, the payments
table is the truth. The handler reads the payment row and extends only when it exists, its
status is ``completed`` and its amount is the plan's price (``plans.py``); user and plan
come from the row, not from the event. A forged ``payment.completed`` (anyone may publish
through the events API) or one about a payment that was since refunded changes nothing.

Exactly once per payment: the handler records both the event id and the payment id in
``processed_events`` in the same transaction as the subscription change, so neither a
re-delivered message nor a second event about the same payment extends twice. An event
refused as unpaid claims nothing, so it cannot use up the real payment's turn.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain_services.payments import periods
from domain_services.payments.models import PLAN_TYPES, Payment
from domain_services.payments.plans import is_full_price
from kernel.db import unit_of_work

log = logging.getLogger(__name__)

CONSUMER = "payments-reactions"
# A payment id is recorded under its own consumer name so it can never collide with an event id.
PAYMENT_CONSUMER = "payments-reactions:payment"

_CLAIM = text(
    "INSERT INTO processed_events (consumer, event_id) VALUES (:consumer, :event_id) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)


def _claim(session: Session, consumer: str, event_id: str) -> bool:
    """True when ``event_id`` had not been processed by ``consumer`` (now it has)."""
    return session.execute(_CLAIM, {"consumer": consumer, "event_id": event_id}).first() is not None


def is_plan_payment(envelope: dict[str, Any] | None) -> bool:
    """Whether the envelope is a ``payment.completed`` carrying a known ``plan_type``."""
    if not envelope or (envelope.get("type"), envelope.get("action")) != ("payment", "completed"):
        return False
    payload = envelope.get("payload")
    return isinstance(payload, dict) and payload.get("plan_type") in PLAN_TYPES and bool(payload.get("user_id"))


def paid_plan(payment: Payment | None, claimed_user: Any) -> str | None:
    """The plan ``payment`` pays for, if it is completed, fully paid and the event's user's; else None."""
    if payment is None or payment.status != "completed" or payment.plan_type is None:
        return None
    if str(payment.user_id) != str(claimed_user) or not is_full_price(payment.plan_type, payment.amount):
        return None
    return payment.plan_type


def handle_payment_event(envelope: dict[str, Any] | None) -> str:
    """React to one envelope; returns what happened (``ignored``, ``unpaid``, ``duplicate``,
    ``unknown-user``, ``subscription.extended`` or ``subscription.created``)."""
    if not is_plan_payment(envelope):
        return "ignored"
    payload = envelope["payload"]
    payment_id = payload.get("payment_id")
    if isinstance(payment_id, bool) or not isinstance(payment_id, int) or not 0 < payment_id < 2**31:
        log.warning("payment event %s names no payment; ignored", envelope.get("id"))
        return "unpaid"
    with unit_of_work() as uow:
        # The row lock orders this against a concurrent refund of the same payment.
        payment = uow.session.get(Payment, payment_id, with_for_update=True)
        plan = paid_plan(payment, payload.get("user_id"))
        if plan is None:
            log.warning("payment %s is not a completed, fully paid plan payment of user %s; no subscription change",
                        payment_id, payload.get("user_id"))
            return "unpaid"
        user_id = payment.user_id
        if not _claim(uow.session, CONSUMER, str(envelope["id"])):
            return "duplicate"
        if not _claim(uow.session, PAYMENT_CONSUMER, str(payment_id)):
            return "duplicate"  # another event about the same payment already counted
        try:
            with uow.session.begin_nested():  # an unknown user must not undo the claims above
                outcome = periods.grant(uow, payment)
        except IntegrityError:
            log.warning("payment %s: user %s does not exist; no subscription change", payment_id, user_id)
            return "unknown-user"
    log.info("payment %s of user %s: %s", payment_id, user_id, outcome)
    return outcome
