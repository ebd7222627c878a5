"""Read messages back from a real broker (test helper)."""

from __future__ import annotations

import uuid
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from eventing.kafka import decode


def _consumer(brokers: str) -> Consumer:
    return Consumer({"bootstrap.servers": brokers, "group.id": f"test-reader-{uuid.uuid4().hex[:8]}",
                     "enable.auto.commit": False, "log_level": 3})


def read_at(brokers: str, topic: str, partition: int, offset: int, timeout: float = 10.0):
    """The message at ``topic/partition/offset`` (None if it does not arrive in time)."""
    consumer = _consumer(brokers)
    try:
        consumer.assign([TopicPartition(topic, partition, offset)])
        msg = consumer.poll(timeout)
        return None if msg is None or msg.error() else msg
    finally:
        consumer.close()


def high_watermarks(brokers: str, topic: str) -> dict[int, int]:
    """``partition → next offset`` of every partition of ``topic`` right now."""
    consumer = _consumer(brokers)
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
    finally:
        consumer.close()


def read_range(brokers: str, topic: str, start: dict[int, int] | None = None) -> list[dict[str, Any]]:
    """Every envelope of ``topic`` from ``start`` (default: the beginning) up to the current end.

    Each dict also carries the record's ``_key``, ``_partition``, ``_offset``, raw ``_value``
    and decoded ``_headers``.
    """
    end = high_watermarks(brokers, topic)
    start = start or dict.fromkeys(end, 0)
    wanted = {p: (start.get(p, 0), hw) for p, hw in end.items() if hw > start.get(p, 0)}
    envelopes: list[dict[str, Any]] = []
    if not wanted:
        return envelopes
    consumer = _consumer(brokers)
    try:
        consumer.assign([TopicPartition(topic, p, lo) for p, (lo, _) in wanted.items()])
        remaining = sum(hi - lo for lo, hi in wanted.values())
        while remaining > 0:
            batch = consumer.consume(num_messages=1000, timeout=10)
            if not batch:
                raise AssertionError(f"{remaining} messages of {topic} did not arrive")
            for msg in batch:
                if msg.error():
                    continue
                if msg.offset() < wanted[msg.partition()][1]:
                    remaining -= 1
                    envelopes.append({"_key": msg.key().decode() if msg.key() else None,
                                      "_partition": msg.partition(), "_offset": msg.offset(),
                                      "_value": msg.value(),
                                      "_headers": {k: v.decode() for k, v in (msg.headers() or [])},
                                      **(decode(msg.value()) or {})})
        return envelopes
    finally:
        consumer.close()
