"""Poison messages leave the line; a database outage dead-letters nothing (real Kafka, real PostgreSQL).

The payments consumer (``python -m domain_services.payments.consumer``) runs as a real process
on the private broker. A malformed ``payment.completed`` must not hold back the valid event
behind it on the same partition, and must land on ``payment-events.dlq`` with its error
headers; while PostgreSQL is down the consumer waits instead, and handles everything once the
database is back.
"""

from __future__ import annotations

import time
import uuid

import pytest
from alembic import command
from confluent_kafka import Consumer, Producer, TopicPartition
from sqlalchemy import create_engine, select, text

from cinemaabyss.commands.db import alembic_config
from domain_services.payments.models import Subscription
from domain_services.payments.plans import price_of
from domain_services.users import services as users
from eventing.kafka import encode
from kernel.db import get_engine, read_session
from kernel.envelope import make_envelope
from tests.events.kafka_read import high_watermarks, read_range
from tests.proxy.private_pg import PrivatePostgres
from tests.support.processes import free_port, running, wait_until
from tests.worker.conftest import PAYMENTS_CONSUMER

TOPIC, DLQ = "payment-events", "payment-events.dlq"


def _produce(brokers: str, key: str, value: bytes) -> tuple[int, int]:
    producer = Producer({"bootstrap.servers": brokers, "enable.idempotence": True, "log_level": 3})
    report = []
    producer.produce(TOPIC, key=key.encode(), value=value, on_delivery=lambda err, msg: report.append((err, msg)))
    producer.flush(10)
    [(err, msg)] = report
    assert err is None, err
    return msg.partition(), msg.offset()


def _plan_payment(user_id: object, payment_id: int) -> dict:
    return make_envelope("payment", "completed", {"payment_id": payment_id, "user_id": user_id,
                                                  "amount": float(price_of("premium")), "status": "completed",
                                                  "plan_type": "premium"}, "test")


_PAID = text("INSERT INTO payments (user_id, amount, status, plan_type, transaction_id) "
             "VALUES (:user, :amount, 'completed', 'premium', :tx) RETURNING id")


def _completed_payment(conn, user_id: int) -> int:
    """A completed, fully paid premium payment row (what the reaction checks the event against)."""
    return conn.scalar(_PAID, {"user": user_id, "amount": price_of("premium"), "tx": uuid.uuid4().hex})


def _subscription_count(user_id: int, url: str | None = None) -> int:
    if url is None:
        with read_session() as session:
            return len(list(session.scalars(select(Subscription.id).where(Subscription.user_id == user_id))))
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(text("SELECT count(*) FROM subscriptions WHERE user_id = :u"), {"u": user_id})
    finally:
        engine.dispose()


def _committed(brokers: str, partition: int) -> int:
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": "payments-reactions", "log_level": 3})
    try:
        return consumer.committed([TopicPartition(TOPIC, partition)], timeout=10)[0].offset
    finally:
        consumer.close()


@pytest.fixture(scope="module")
def payments_consumer(db_url, private_kafka):
    """The payments consumer on the private broker and the test database, past its group join."""
    brokers = private_kafka.bootstrap
    with running("payments-consumer-dlq", PAYMENTS_CONSUMER, env={"KAFKA_BROKERS": brokers},
                 health_path=None) as proc:
        ping = make_envelope("payment", "pending", {"payment_id": 1, "user_id": 1}, "test")  # ignored by the reaction
        partition, offset = _produce(brokers, "warm-up", encode(ping))
        wait_until(lambda: _committed(brokers, partition) > offset, timeout=60, interval=0.2,
                   message="payments consumer joined its group")
        yield proc


def test_poison_is_dead_lettered_and_the_event_behind_it_handled_within_5s(payments_consumer, private_kafka):
    brokers = private_kafka.bootstrap
    name = f"dlq{uuid.uuid4().hex[:10]}"
    user_id = users.create_user({"username": name, "email": f"{name}@example.com"})["id"]
    with get_engine().begin() as conn:
        payment_id = _completed_payment(conn, user_id)
    key = str(payment_id)  # one key: poison and valid event share a partition
    dlq_start = high_watermarks(brokers, DLQ)

    poison = _plan_payment("abc", payment_id)  # the on-call report: "user_id": "abc"
    poison_at = _produce(brokers, key, encode(poison))
    valid_at = _produce(brokers, key, encode(_plan_payment(user_id, payment_id)))
    produced = time.monotonic()
    assert valid_at[0] == poison_at[0] and valid_at[1] > poison_at[1]

    wait_until(lambda: _subscription_count(user_id) == 1, timeout=15, interval=0.05,
               message="valid payment behind the poison handled")
    elapsed = time.monotonic() - produced
    assert elapsed <= 5, f"the valid event waited {elapsed:.1f}s behind the poison"

    dead = wait_until(lambda: [m for m in read_range(brokers, DLQ, dlq_start) if m["_key"] == key],
                      timeout=10, message="poison on payment-events.dlq")
    assert len(dead) == 1
    [letter] = dead
    assert letter["_value"] == encode(poison)
    headers = letter["_headers"]
    assert headers["dlq-original-topic"] == TOPIC
    assert (int(headers["dlq-original-partition"]), int(headers["dlq-original-offset"])) == poison_at
    assert headers["dlq-consumer-group"] == "payments-reactions"
    assert headers["dlq-error-class"] == "PoisonMessage"
    assert "user_id" in headers["dlq-error"] and "abc" in headers["dlq-error"]
    print(f"valid event handled {elapsed:.2f}s after it was produced behind a poison message")


def test_undecodable_value_is_dead_lettered_at_once(payments_consumer, private_kafka):
    brokers = private_kafka.bootstrap
    key = f"garbage-{uuid.uuid4().hex[:8]}"
    dlq_start = high_watermarks(brokers, DLQ)
    _produce(brokers, key, b"\xff this is not an envelope")

    [letter] = wait_until(lambda: [m for m in read_range(brokers, DLQ, dlq_start) if m["_key"] == key],
                          timeout=10, message="undecodable message dead-lettered")
    assert letter["_headers"]["dlq-error-class"] == "PoisonMessage"


@pytest.fixture
def private_database():
    """A throw-away PostgreSQL cluster, migrated to head, that the test may stop and start."""
    pg = PrivatePostgres(free_port())
    try:
        pg.start()
        config = alembic_config(pg.url)
        config.attributes["configure_logging"] = False
        command.upgrade(config, "head")
        yield pg
    finally:
        pg.destroy()


def test_database_down_dead_letters_nothing_and_everything_is_handled_after_it_returns(
        payments_consumer, private_kafka, private_database):
    payments_consumer.stop()  # this test's consumer uses the private database instead
    brokers = private_kafka.bootstrap
    engine = create_engine(private_database.url)
    with engine.begin() as conn:
        user_id = conn.scalar(text("INSERT INTO users (username, email) VALUES ('down', 'down@example.com') "
                                   "RETURNING id"))
        payment_ids = [_completed_payment(conn, user_id) for _ in range(5)]
    engine.dispose()
    env = {"KAFKA_BROKERS": brokers, "DATABASE_URL": private_database.url}
    with running("payments-consumer-pgdown", PAYMENTS_CONSUMER, env=env, health_path=None) as consumer:
        dlq_before = high_watermarks(brokers, DLQ)
        private_database.stop()
        events = [_plan_payment(user_id, payment_id) for payment_id in payment_ids]
        for envelope in events:
            _produce(brokers, str(envelope["payload"]["payment_id"]), encode(envelope))
        # the consumer keeps retrying (well past CONSUMER_MAX_ATTEMPTS) while the database is down
        wait_until(lambda: consumer.log_path.read_text().count("OperationalError") >= 5, timeout=60,
                   interval=0.2, message="consumer retrying against the stopped database")
        assert high_watermarks(brokers, DLQ) == dlq_before

        private_database.start()
        engine = create_engine(private_database.url)
        try:
            def all_handled() -> bool:
                with engine.connect() as conn:
                    return conn.scalar(text("SELECT count(*) FROM processed_events WHERE consumer = "
                                            "'payments-reactions' AND event_id = ANY(:ids)"),
                                       {"ids": [e["id"] for e in events]}) == len(events)

            wait_until(all_handled, timeout=60, interval=0.2, message="every event handled after the database returned")
        finally:
            engine.dispose()
        assert _subscription_count(user_id, private_database.url) == len(payment_ids)  # one period per payment
        assert high_watermarks(brokers, DLQ) == dlq_before, "a message was dead-lettered during the outage"
