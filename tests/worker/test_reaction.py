"""Payment → subscription: each plan payment buys its period exactly once, also on replays."""

from __future__ import annotations

import uuid
from datetime import timedelta

from confluent_kafka import Consumer, Producer, TopicPartition
from sqlalchemy import select

from domain_services.payments import services as payments
from domain_services.payments import subscriptions
from domain_services.payments.models import Subscription
from domain_services.payments.periods import PERIOD
from domain_services.payments.plans import price_of
from domain_services.payments.reactions import handle_payment_event
from domain_services.users import services as users
from eventing.kafka import encode
from kernel.db import read_session
from kernel.envelope import make_envelope, utcnow
from tests.events.kafka_read import high_watermarks, read_range
from tests.support.processes import wait_until


def _new_user() -> int:
    name = f"sub{uuid.uuid4().hex[:10]}"
    return users.create_user({"username": name, "email": f"{name}@example.com"})["id"]


def _subscriptions(user_id: int) -> list:
    """Rows ``(id, plan_type, start_date, end_date)`` of the user's subscriptions."""
    with read_session() as session:
        return list(session.execute(select(Subscription.id, Subscription.plan_type, Subscription.start_date,
                                           Subscription.end_date).where(Subscription.user_id == user_id)).all())


def _completed_payment(user_id: int, plan: str = "premium") -> int:
    """A plan payment at the plan's price, completed by the payment side (emits ``payment.completed``)."""
    payment = payments.create_payment({"user_id": user_id, "amount": float(price_of(plan)), "plan_type": plan})
    payments.change_status(payment["id"], "completed")
    return payment["id"]


def _payment_event(user_id: int, payment_id: int, plan: str = "premium") -> dict:
    return make_envelope("payment", "completed", {"payment_id": payment_id, "user_id": user_id,
                                                  "amount": float(price_of(plan)), "status": "completed",
                                                  "plan_type": plan}, "test")


def test_first_plan_payment_creates_a_subscription_once(db_url):
    user_id = _new_user()
    event = _payment_event(user_id, _completed_payment(user_id))

    assert handle_payment_event(event) == "subscription.created"
    assert handle_payment_event(event) == "duplicate"

    [sub] = _subscriptions(user_id)
    assert sub.plan_type == "premium"
    assert abs((sub.end_date - sub.start_date) - PERIOD) < timedelta(seconds=1)


def test_a_plan_payment_queues_its_own_period_after_the_paid_time_exactly_once(db_url):
    user_id = _new_user()
    now = utcnow()
    created = subscriptions.create_subscription({"user_id": user_id, "plan_type": "basic",
                                                 "start_date": now.isoformat(),
                                                 "end_date": (now + timedelta(days=5)).isoformat()})
    payment_id = _completed_payment(user_id, "family")
    event = _payment_event(user_id, payment_id, "family")

    assert handle_payment_event(event) == "subscription.extended"
    assert handle_payment_event(event) == "duplicate"  # the same message delivered again
    assert handle_payment_event(_payment_event(user_id, payment_id, "family")) == "duplicate"  # same payment

    granted, bought = sorted(_subscriptions(user_id), key=lambda s: s.start_date)
    assert granted.id == created["id"] and granted.plan_type == "basic"  # the time already there keeps its plan
    assert bought.plan_type == "family"
    assert abs(bought.start_date - (now + timedelta(days=5))) < timedelta(seconds=1)
    assert abs(bought.end_date - (now + timedelta(days=35))) < timedelta(seconds=1)


def test_events_without_a_plan_or_a_completed_payment_change_nothing(db_url):
    assert handle_payment_event(make_envelope("payment", "completed", {"payment_id": 1, "user_id": 1}, "t")) == \
        "ignored"
    assert handle_payment_event(make_envelope("payment", "failed", {"payment_id": 1, "user_id": 1,
                                                                   "plan_type": "basic"}, "t")) == "ignored"
    user_id = _new_user()
    pending = payments.create_payment({"user_id": user_id, "amount": float(price_of("basic")), "plan_type": "basic"})
    forged = _payment_event(user_id, pending["id"], "basic")  # says completed; the row says pending
    assert handle_payment_event(forged) == "unpaid"
    assert _subscriptions(user_id) == []


def _committed(brokers: str, group: str, topic: str, partition: int) -> int:
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": group, "log_level": 3})
    try:
        return consumer.committed([TopicPartition(topic, partition)], timeout=10)[0].offset
    finally:
        consumer.close()


def test_payment_through_outbox_kafka_and_consumer_extends_once_even_when_replayed(private_pipeline):
    brokers = private_pipeline["kafka"].bootstrap
    user_id = _new_user()
    start = high_watermarks(brokers, "payment-events")

    payment_id = _completed_payment(user_id)

    wait_until(lambda: len(_subscriptions(user_id)) == 1, timeout=30, message="subscription created by reaction")
    [before] = _subscriptions(user_id)
    [original] = [e for e in read_range(brokers, "payment-events", start)
                  if (e.get("type"), e.get("action")) == ("payment", "completed")
                  and e["payload"].get("payment_id") == payment_id]

    # replay the very same message, as a broker redelivery or a relay retry would
    envelope = {k: v for k, v in original.items() if not k.startswith("_")}
    producer = Producer({"bootstrap.servers": brokers, "enable.idempotence": True, "log_level": 3})
    delivered = []
    producer.produce("payment-events", key=original["_key"].encode(), value=encode(envelope),
                     on_delivery=lambda err, msg: delivered.append((err, msg)))
    producer.flush(10)
    [(err, msg)] = delivered
    assert err is None
    wait_until(lambda: _committed(brokers, "payments-reactions", "payment-events", msg.partition()) > msg.offset(),
               timeout=30, message="replay consumed by payments-reactions")
    log = private_pipeline["events"].log_path
    wait_until(lambda: log.read_text().count(f'"id":"{envelope["id"]}"') >= 2, timeout=30,
               message="replay logged by events-service")

    [after] = _subscriptions(user_id)
    assert after.end_date == before.end_date
    lines = [line for line in log.read_text().splitlines() if f'"id":"{envelope["id"]}"' in line]
    assert ['"duplicate":true' in line for line in lines].count(True) == len(lines) - 1
