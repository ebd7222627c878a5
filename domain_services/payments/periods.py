"""Plans as periods: what a plan payment buys, and what its refund takes back.

Each completed plan payment buys one period of its own plan, ``PERIOD`` long, starting
where the user's paid time ends (or now, when nothing is paid ahead). A purchase never
changes the plan of time already bought: two basic payments then one premium is 60 days of basic
followed by 30 days of premium, and two family then one basic keeps both family months.
Nothing is prorated.

A refund takes back what the payment bought and is not used yet: a period still in the
future is removed, the running one ends now; every period queued after it moves earlier
by the time taken back, so no gap opens in the user's paid time.

Both run under a per-user advisory lock so two payments of one user completing at once
cannot both start at the same "end of paid time".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text

from domain_services.payments.models import Payment, Subscription
from kernel.db import UnitOfWork
from kernel.envelope import utcnow
from kernel.outbox import add_event

PERIOD = timedelta(days=30)
SOURCE = "payments"
#: First key of the two-key ``pg_advisory_xact_lock`` that serialises one user's periods ("subs").
USER_LOCK_CLASS = 0x73756273


def to_dict(sub: Subscription) -> dict[str, Any]:
    """The contract representation ``{id, user_id, plan_type, start_date, end_date}``."""
    return {
        "id": sub.id,
        "user_id": sub.user_id,
        "plan_type": sub.plan_type,
        "start_date": sub.start_date.isoformat(),
        "end_date": sub.end_date.isoformat(),
    }


def _lock_user(uow: UnitOfWork, user_id: int) -> None:
    uow.session.execute(text("SELECT pg_advisory_xact_lock(:c, :u)"), {"c": USER_LOCK_CLASS, "u": user_id})


def paid_until(uow: UnitOfWork, user_id: int, now: datetime) -> datetime:
    """Where the user's paid time ends (``now`` when nothing runs past it)."""
    end = uow.session.scalar(select(func.max(Subscription.end_date)).where(Subscription.user_id == user_id))
    return max(end, now) if end is not None else now


def grant(uow: UnitOfWork, payment: Payment, *, now: datetime | None = None) -> str:
    """Queue the period ``payment`` bought after the user's paid time; emits and returns the event name.

    ``subscription.created`` when the period starts now, ``subscription.extended`` when it
    follows time already paid.
    """
    now = now or utcnow()
    _lock_user(uow, payment.user_id)
    start = paid_until(uow, payment.user_id, now)
    sub = Subscription(user_id=payment.user_id, plan_type=payment.plan_type, start_date=start,
                       end_date=start + PERIOD, payment_id=payment.id)
    uow.session.add(sub)
    uow.session.flush()
    name = "subscription.created" if start == now else "subscription.extended"
    add_event(uow, name, sub.id, {"subscription_id": sub.id, **to_dict(sub), "payment_id": payment.id}, SOURCE)
    return name


def unused_part(start: datetime, end: datetime, now: datetime) -> timedelta:
    """How much of the period ``[start, end)`` is still ahead of ``now``."""
    return max(end - max(start, now), timedelta(0))


def take_back(uow: UnitOfWork, payment: Payment, *, now: datetime | None = None) -> timedelta:
    """Take back the unused time of the period ``payment`` bought; returns how much (zero if none).

    Emits ``subscription.deleted`` for a period removed whole, ``subscription.updated`` for
    the shortened one and for each later period moved earlier.
    """
    now = now or utcnow()
    _lock_user(uow, payment.user_id)
    sub = uow.session.scalars(select(Subscription).where(Subscription.payment_id == payment.id)).first()
    if sub is None:  # the reaction had not run yet; it will refuse the refunded payment
        return timedelta(0)
    returned = unused_part(sub.start_date, sub.end_date, now)
    if not returned:
        return returned
    old_end = sub.end_date
    later = uow.session.scalars(
        select(Subscription)
        .where(Subscription.user_id == payment.user_id, Subscription.start_date >= old_end, Subscription.id != sub.id)
        .order_by(Subscription.start_date)
    ).all()
    if sub.start_date >= now:
        uow.session.delete(sub)
        add_event(uow, "subscription.deleted", sub.id,
                  {"subscription_id": sub.id, "user_id": sub.user_id, "payment_id": payment.id}, SOURCE)
    else:
        sub.end_date = now
        _updated(uow, sub, payment.id)
    for following in later:
        following.start_date -= returned
        following.end_date -= returned
        _updated(uow, following, payment.id)
    uow.session.flush()
    return returned


def _updated(uow: UnitOfWork, sub: Subscription, refunded_payment: int) -> None:
    add_event(uow, "subscription.updated", sub.id,
              {"subscription_id": sub.id, **to_dict(sub), "refunded_payment_id": refunded_payment}, SOURCE)
