"""Subscription service functions.

A user reads their own subscriptions and may switch auto-renew on or off; a subscription
is created or extended by a paid plan payment (``reactions.py``) or by the payment side
(roles ``admin``/``service``), never granted by a user to themself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain_services.payments.models import PLAN_TYPES, Subscription
from domain_services.payments.periods import to_dict
from domain_services.payments.services import owner_filter, unknown_user
from kernel import validation as v
from kernel.db import read_session, unit_of_work
from kernel.errors import Forbidden, InvalidInput, NotFound
from kernel.identity import PRIVILEGED, SYSTEM, Identity, require_owner, require_role, require_user
from kernel.integrity import translate
from kernel.outbox import add_event
from kernel.pagination import EVERYTHING, Page

SOURCE = "payments"


def list_subscriptions(
    page: Page = EVERYTHING, *, user_id: int | None = None, viewer: Identity = SYSTEM
) -> list[dict[str, Any]]:
    """Subscriptions ordered by id, optionally of one user, optionally paged; a user sees only theirs."""
    user_id = owner_filter(viewer, user_id, f"the subscriptions of user {user_id}")
    query = select(Subscription).order_by(Subscription.id)
    if user_id is not None:
        query = query.where(Subscription.user_id == user_id)
    with read_session() as session:
        return [to_dict(s) for s in session.scalars(page.apply(query))]


def load_subscription(session: Session, subscription_id: int) -> Subscription:
    """The subscription row or :class:`NotFound`."""
    sub = session.get(Subscription, subscription_id)
    if sub is None:
        raise NotFound(f"subscription {subscription_id} not found")
    return sub


def get_subscription(subscription_id: int, *, viewer: Identity = SYSTEM) -> dict[str, Any]:
    """One subscription (its owner's or for the privileged) or :class:`NotFound`."""
    with read_session() as session:
        sub = load_subscription(session, subscription_id)
        require_owner(viewer, sub.user_id, f"subscription {subscription_id}")
        return to_dict(sub)


def _period(data: dict[str, Any], *, current: Subscription | None = None) -> tuple[Any, Any]:
    start = v.timestamp(data, "start_date", required=current is None) or (current and current.start_date)
    end = v.timestamp(data, "end_date", required=current is None) or (current and current.end_date)
    if end < start:
        raise InvalidInput("end_date must not be before start_date")
    return start, end


def create_subscription(data: Any, *, actor: Identity = SYSTEM) -> dict[str, Any]:
    """Insert a subscription (the payment side only); unknown user → 400; emits ``subscription.created``."""
    require_role(actor, PRIVILEGED, "granting a subscription")
    data = v.require_object(data)
    user_id = v.integer(data, "user_id", minimum=1)
    plan = v.choice(data, "plan_type", PLAN_TYPES)
    start, end = _period(data)
    auto_renew = v.boolean(data, "auto_renew", required=False) or False
    try:
        with unit_of_work() as uow:
            sub = Subscription(user_id=user_id, plan_type=plan, start_date=start, end_date=end, auto_renew=auto_renew)
            uow.session.add(sub)
            uow.session.flush()
            result = to_dict(sub)
            add_event(uow, "subscription.created", sub.id, {"subscription_id": sub.id, **result}, SOURCE)
    except IntegrityError as exc:
        raise translate(exc, {"fk_subscriptions_user": unknown_user(user_id)}) from None
    return result


def update_subscription(subscription_id: int, data: Any, *, actor: Identity = SYSTEM) -> dict[str, Any]:
    """Change plan, period or auto-renew; emits ``subscription.updated``.

    The owner may change ``auto_renew`` only; plan and period are the payment side's.
    """
    data = v.require_object(data)
    if not actor.is_privileged and set(data) - {"auto_renew"}:
        require_user(actor)  # 401 when anonymous
        raise Forbidden("a user may change only auto_renew of their subscription")
    with unit_of_work() as uow:
        sub = load_subscription(uow.session, subscription_id)
        require_owner(actor, sub.user_id, f"subscription {subscription_id}")
        if "plan_type" in data:
            sub.plan_type = v.choice(data, "plan_type", PLAN_TYPES)
        sub.start_date, sub.end_date = _period(data, current=sub)
        if "auto_renew" in data:
            sub.auto_renew = bool(v.boolean(data, "auto_renew"))
        uow.session.flush()
        result = to_dict(sub)
        add_event(uow, "subscription.updated", sub.id, {"subscription_id": sub.id, **result}, SOURCE)
    return result


def delete_subscription(subscription_id: int, *, actor: Identity = SYSTEM) -> None:
    """Delete a subscription (the payment side only); emits ``subscription.deleted``."""
    require_role(actor, PRIVILEGED, "deleting a subscription")
    with unit_of_work() as uow:
        sub = load_subscription(uow.session, subscription_id)
        uow.session.delete(sub)
        add_event(
            uow,
            "subscription.deleted",
            subscription_id,
            {"subscription_id": subscription_id, "user_id": sub.user_id},
            SOURCE,
        )
