"""Payment service functions: creation, status transitions, queries.

Ownership is decided here, where the data lives: a user sees and creates only their own
payments; only the payment side (roles ``admin``/``service``, or a signed provider
callback) moves a payment's status. A payment starts ``pending``; a plan payment must be
for the plan's price.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain_services.payments import periods
from domain_services.payments.models import PAYMENT_STATUSES, PLAN_TYPES, Payment
from domain_services.payments.plans import check_amount
from kernel import validation as v
from kernel.db import UnitOfWork, read_session, unit_of_work
from kernel.errors import Conflict, InvalidInput, NotFound
from kernel.identity import PRIVILEGED, SYSTEM, Identity, require_owner, require_role
from kernel.integrity import translate
from kernel.outbox import add_event
from kernel.pagination import EVERYTHING, Page

SOURCE = "payments"
MAX_AMOUNT = 99_999_999.99
# Allowed status changes; anything else is a 409.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("completed", "failed"),
    "completed": ("refunded",),
    "failed": (),
    "refunded": (),
}


def to_dict(payment: Payment) -> dict[str, Any]:
    """The contract representation ``{id, user_id, amount, timestamp}``."""
    return {
        "id": payment.id,
        "user_id": payment.user_id,
        "amount": float(payment.amount),
        "timestamp": payment.timestamp.isoformat(),
    }


def event_payload(payment: Payment) -> dict[str, Any]:
    """What ``payment.*`` events carry (the events API's payment shape plus the plan)."""
    return {
        "payment_id": payment.id,
        "user_id": payment.user_id,
        "amount": float(payment.amount),
        "status": payment.status,
        "timestamp": payment.timestamp.isoformat(),
        "method_type": payment.payment_method,
        "plan_type": payment.plan_type,
    }


def unknown_user(user_id: int) -> InvalidInput:
    """The error for a reference to a user that does not exist."""
    return InvalidInput(f"user {user_id} does not exist")


def owner_filter(viewer: Identity, user_id: int | None, what: str) -> int | None:
    """Whose records ``viewer`` lists: anyone's for the privileged, else only their own.

    A user who names another user gets a 403; one who names nobody gets their own.
    """
    if viewer.is_privileged:
        return user_id
    require_owner(viewer, user_id if user_id is not None else viewer.user_id, what)
    return viewer.user_id


def list_payments(
    page: Page = EVERYTHING, *, user_id: int | None = None, viewer: Identity = SYSTEM
) -> list[dict[str, Any]]:
    """Payments ordered by id, optionally of one user, optionally paged; a user sees only theirs."""
    user_id = owner_filter(viewer, user_id, f"the payments of user {user_id}")
    query = select(Payment).order_by(Payment.id)
    if user_id is not None:
        query = query.where(Payment.user_id == user_id)
    with read_session() as session:
        return [to_dict(p) for p in session.scalars(page.apply(query))]


def load_payment(session: Session, payment_id: int, *, lock: bool = False) -> Payment:
    """The payment row (``lock``: ``SELECT ... FOR UPDATE``) or :class:`NotFound`."""
    payment = session.get(Payment, payment_id, with_for_update=lock)
    if payment is None:
        raise NotFound(f"payment {payment_id} not found")
    return payment


def get_payment(payment_id: int, *, viewer: Identity = SYSTEM) -> dict[str, Any]:
    """One payment (its owner's or for the privileged) or :class:`NotFound`."""
    with read_session() as session:
        payment = load_payment(session, payment_id)
        require_owner(viewer, payment.user_id, f"payment {payment_id}")
        return to_dict(payment)


def create_payment(data: Any, *, actor: Identity = SYSTEM) -> dict[str, Any]:
    """Record a ``pending`` payment (timestamp set by the server); emits ``payment.pending``.

    ``user_id`` defaults to the calling user; only the privileged may name someone else. A
    ``status`` other than ``pending`` is refused: completion comes from the payment side.
    """
    data = v.require_object(data)
    # a user pays for themself by default; the payment side must say for whom
    own_default = None if actor.is_privileged else actor.user_id
    user_id = v.integer(data, "user_id", required=own_default is None, minimum=1) or own_default
    require_owner(actor, user_id, f"a payment for user {user_id}")
    amount = v.number(data, "amount", minimum=0.01, maximum=MAX_AMOUNT)
    status = v.choice(data, "status", PAYMENT_STATUSES, required=False) or "pending"
    if status != "pending":
        raise InvalidInput("a payment starts pending; the payment provider or an admin completes it")
    method = v.text(data, "payment_method", required=False, max_length=50)
    plan = v.choice(data, "plan_type", PLAN_TYPES, required=False)
    check_amount(plan, amount)
    try:
        with unit_of_work() as uow:
            payment = Payment(
                user_id=user_id,
                amount=amount,
                status=status,
                payment_method=method,
                plan_type=plan,
                transaction_id=str(uuid.uuid4()),
            )
            uow.session.add(payment)
            uow.session.flush()
            uow.session.refresh(payment, ["timestamp"])
            add_event(uow, f"payment.{status}", payment.id, event_payload(payment), SOURCE)
            result = to_dict(payment)
    except IntegrityError as exc:
        raise translate(exc, {"fk_payments_user": unknown_user(user_id)}) from None
    return result


def change_status(payment_id: int, status: str, *, actor: Identity = SYSTEM) -> dict[str, Any]:
    """Move a payment along ``TRANSITIONS`` (the payment side only); an invalid move is a :class:`Conflict`.

    Returns the contract representation plus the new ``status``. The row is locked so two
    concurrent changes cannot both pass the transition check.
    """
    require_role(actor, PRIVILEGED, "changing a payment's status")
    status = v.choice({"status": status}, "status", PAYMENT_STATUSES)
    with unit_of_work() as uow:
        payment = load_payment(uow.session, payment_id, lock=True)
        transition(uow, payment, status)
        return {**to_dict(payment), "status": payment.status}


def transition(uow: UnitOfWork, payment: Payment, status: str) -> None:
    """Move a (locked) payment to ``status`` inside ``uow`` and emit ``payment.<status>``; else :class:`Conflict`.

    A refund takes back, in the same transaction, the unused time the payment bought.
    """
    if status not in TRANSITIONS[payment.status]:
        raise Conflict(f"payment {payment.id} cannot go from {payment.status} to {status}")
    payment.status = status
    if status == "refunded":
        periods.take_back(uow, payment)
    add_event(uow, f"payment.{status}", payment.id, event_payload(payment), SOURCE)


def set_status(payment_id: int, data: Any, *, actor: Identity = SYSTEM) -> dict[str, Any]:
    """:func:`change_status` from a request body ``{status}``."""
    require_role(actor, PRIVILEGED, "changing a payment's status")
    data = v.require_object(data)
    return change_status(payment_id, v.choice(data, "status", PAYMENT_STATUSES), actor=actor)


def delete_payment(payment_id: int, *, actor: Identity = SYSTEM) -> None:
    """Delete a payment record (the payment side only); emits ``payment.deleted``."""
    require_role(actor, PRIVILEGED, "deleting a payment")
    with unit_of_work() as uow:
        payment = load_payment(uow.session, payment_id)
        uow.session.delete(payment)
        add_event(uow, "payment.deleted", payment_id, {"payment_id": payment_id, "user_id": payment.user_id}, SOURCE)
