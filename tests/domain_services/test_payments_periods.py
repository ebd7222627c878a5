"""Plans as periods: each plan payment buys its own 30 days after what is paid; a refund takes its time back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from domain_services.payments import services as payments
from domain_services.payments.models import Subscription
from domain_services.payments.periods import PERIOD, unused_part
from domain_services.payments.plans import price_of
from domain_services.payments.reactions import handle_payment_event
from domain_services.users import services as users
from kernel.db import read_session, unit_of_work
from kernel.envelope import make_envelope, utcnow

SECOND = timedelta(seconds=2)


# --- pure ---------------------------------------------------------------------------------------

def test_unused_part_of_a_period():
    now = datetime(2030, 1, 10, tzinfo=UTC)
    day = timedelta(days=1)
    assert unused_part(now - 5 * day, now + 25 * day, now) == 25 * day  # running: the rest
    assert unused_part(now + 5 * day, now + 35 * day, now) == 30 * day  # ahead: all of it
    assert unused_part(now - 40 * day, now - 10 * day, now) == timedelta(0)  # used up


# --- against the database -------------------------------------------------------------------------

def _new_user() -> int:
    name = f"per{uuid.uuid4().hex[:10]}"
    return users.create_user({"username": name, "email": f"{name}@example.com"})["id"]


def _buy(user_id: int, plan: str) -> int:
    """A plan payment completed by the payment side and its ``payment.completed`` reaction."""
    payment = payments.create_payment({"user_id": user_id, "amount": float(price_of(plan)), "plan_type": plan})
    payments.change_status(payment["id"], "completed")
    envelope = make_envelope("payment", "completed", {"payment_id": payment["id"], "user_id": user_id,
                                                      "amount": float(price_of(plan)), "status": "completed",
                                                      "plan_type": plan}, "test")
    assert handle_payment_event(envelope).startswith("subscription.")
    return payment["id"]


def _periods(user_id: int) -> list[tuple[str, datetime, datetime]]:
    with read_session() as session:
        rows = session.execute(select(Subscription.plan_type, Subscription.start_date, Subscription.end_date)
                               .where(Subscription.user_id == user_id).order_by(Subscription.start_date)).all()
    return [tuple(r) for r in rows]


def _assert_periods(user_id: int, expected: list[tuple[str, timedelta, timedelta]], origin: datetime) -> None:
    """Each period's plan, and start/end as offsets from ``origin`` (within a couple of seconds)."""
    actual = _periods(user_id)
    assert [p for p, _, _ in actual] == [p for p, _, _ in expected], actual
    for (_, start, end), (_, want_start, want_end) in zip(actual, expected, strict=True):
        assert abs(start - (origin + want_start)) < SECOND, (start, origin + want_start)
        assert abs(end - (origin + want_end)) < SECOND, (end, origin + want_end)


def test_an_upgrade_starts_after_the_basic_time_already_bought(db_url):
    user_id, now = _new_user(), utcnow()
    _buy(user_id, "basic")
    _buy(user_id, "basic")
    _buy(user_id, "premium")
    _assert_periods(user_id, [("basic", 0 * PERIOD, PERIOD), ("basic", PERIOD, 2 * PERIOD),
                              ("premium", 2 * PERIOD, 3 * PERIOD)], now)


def test_a_downgrade_keeps_the_family_months_already_paid(db_url):
    user_id, now = _new_user(), utcnow()
    _buy(user_id, "family")
    _buy(user_id, "family")
    _buy(user_id, "basic")
    _assert_periods(user_id, [("family", 0 * PERIOD, PERIOD), ("family", PERIOD, 2 * PERIOD),
                              ("basic", 2 * PERIOD, 3 * PERIOD)], now)


def test_refunding_a_queued_period_removes_it_and_closes_the_gap(db_url):
    user_id, now = _new_user(), utcnow()
    _buy(user_id, "basic")
    premium = _buy(user_id, "premium")
    _buy(user_id, "family")
    payments.change_status(premium, "refunded")
    _assert_periods(user_id, [("basic", 0 * PERIOD, PERIOD), ("family", PERIOD, 2 * PERIOD)], now)


def test_refunding_the_running_period_in_the_middle_ends_it_now_and_moves_the_rest_earlier(db_url):
    user_id = _new_user()
    basic = _buy(user_id, "basic")
    _buy(user_id, "premium")
    ten_days = timedelta(days=10)
    with unit_of_work() as uow:  # ten days have passed since the first purchase
        uow.session.execute(update(Subscription).where(Subscription.user_id == user_id).values(
            start_date=Subscription.start_date - ten_days, end_date=Subscription.end_date - ten_days))
    now = utcnow()
    payments.change_status(basic, "refunded")
    # basic ran for ten days and ends now; premium, which was to start in 20 days, starts now
    _assert_periods(user_id, [("basic", -ten_days, timedelta(0)), ("premium", timedelta(0), PERIOD)], now)


def test_a_refund_before_the_reaction_buys_nothing(db_url):
    user_id = _new_user()
    payment = payments.create_payment({"user_id": user_id, "amount": float(price_of("basic")), "plan_type": "basic"})
    payments.change_status(payment["id"], "completed")
    payments.change_status(payment["id"], "refunded")
    envelope = make_envelope("payment", "completed", {"payment_id": payment["id"], "user_id": user_id,
                                                      "plan_type": "basic"}, "test")
    assert handle_payment_event(envelope) == "unpaid"
    assert _periods(user_id) == []
