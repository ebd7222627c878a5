"""Per-aggregate order: the relay never publishes a row while an earlier row of its key is pending.

The integration test relays real outbox rows (PostgreSQL) to a private broker through a
producer that fails some deliveries, then reads the topic back: each key's ``sequence`` must
arrive 1, 2, 3 ... in offset order, nothing missing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import NamedTuple

from confluent_kafka import KafkaError, Producer
from sqlalchemy import select

from eventing.kafka import producer_config
from kernel.db import get_engine, read_session, unit_of_work
from kernel.models import OutboxEvent
from kernel.outbox import add_event
from kernel.settings import load_settings
from tests.events.kafka_read import high_watermarks, read_range
from tests.support.processes import wait_until
from worker.relay import in_key_order, relay_batch


class Row(NamedTuple):
    topic: str
    key: str
    seq: int
    head: bool


def test_in_key_order_keeps_each_keys_run_from_its_head_in_sequence():
    rows = [Row("t", "a", 3, False), Row("t", "a", 1, True), Row("t", "a", 2, False),  # a: 1, 2, 3
            Row("t", "b", 5, False), Row("t", "b", 6, False),  # b: its head 4 was not claimed
            Row("t", "c", 7, True), Row("t", "c", 9, False),  # c: 8 missing, 9 must wait
            Row("u", "a", 1, True)]  # same key on another topic is another aggregate
    ready = in_key_order(rows)
    assert [(r.topic, r.key, r.seq) for r in ready] == [("t", "a", 1), ("t", "a", 2), ("t", "a", 3),
                                                        ("t", "c", 7), ("u", "a", 1)]


class _Error:
    """Stands in for a ``KafkaError`` in a delivery report."""

    def __str__(self) -> str:
        return "injected delivery failure"

    def code(self) -> int:
        return KafkaError._MSG_TIMED_OUT


class FlakyProducer:
    """A real producer whose ``produce`` fails the first try of chosen messages (both failure paths)."""

    def __init__(self, brokers: str, fail_keys: set[tuple[str, int]]) -> None:
        self.producer = Producer(producer_config(load_settings(kafka_brokers=brokers)))
        self.pending = set(fail_keys)  # (key, sequence) failing once each
        self.injected = 0

    def produce(self, topic, key, value, on_delivery):
        import json

        sequence = json.loads(value)["sequence"]
        if (key.decode(), sequence) in self.pending:
            self.pending.discard((key.decode(), sequence))
            self.injected += 1
            if sequence % 2:
                raise BufferError("injected: local queue full")
            on_delivery(_Error(), None)  # as if the broker refused it
            return
        self.producer.produce(topic, key=key, value=value, on_delivery=on_delivery)

    def poll(self, timeout):
        return self.producer.poll(timeout)

    def flush(self, timeout):
        return self.producer.flush(timeout)


def _unpublished(ids: list[uuid.UUID]) -> int:
    with read_session() as session:
        return len(list(session.scalars(select(OutboxEvent.id).where(OutboxEvent.id.in_(ids),
                                                                      OutboxEvent.published_at.is_(None)))))


def test_failed_deliveries_never_let_a_later_event_of_the_key_overtake(db_url, private_kafka):
    brokers = private_kafka.bootstrap
    start = high_watermarks(brokers, "movie-events")
    prefix = f"order-{uuid.uuid4().hex[:8]}"
    keys = [f"{prefix}-{k}" for k in range(12)]
    per_key = 8
    ids: list[uuid.UUID] = []
    for n in range(per_key):
        with unit_of_work() as uow:
            for key in keys:
                ids.append(uuid.UUID(add_event(uow, "movie.updated", key, {"n": n + 1}, "test")["id"]))
    # fail the first try of the 2nd, 3rd and 6th event of every other key
    flaky = FlakyProducer(brokers, {(key, s) for key in keys[::2] for s in (2, 3, 6)})

    def relayed() -> bool:
        relay_batch(get_engine(), flaky)
        return _unpublished(ids) == 0

    wait_until(relayed, timeout=60, interval=0.1, message="every row relayed")
    assert flaky.injected == 18

    sequences: dict[str, list[int]] = defaultdict(list)
    for envelope in sorted(read_range(brokers, "movie-events", start), key=lambda e: e["_offset"]):
        if envelope["_key"] in keys:
            sequences[envelope["_key"]].append(envelope["sequence"])
    assert {key: sequences[key] for key in keys} == {key: list(range(1, per_key + 1)) for key in keys}
