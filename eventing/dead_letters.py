"""Dead-letter topics: where a consumer puts a message it gave up on, and how to read it back.

A message of ``<topic>`` that a consumer group cannot handle goes to ``<topic>.dlq`` with the
same key, value and headers, plus headers naming where it came from and why it failed
(:data:`HEADERS`). The consumer commits the original offset only after the dead-letter copy
is acknowledged, so a message is always in one of the two places.

The console's dead-letter page reads these headers back (:func:`reason_of`) and can send the
message back to its source topic (:func:`republish_headers` drops the dead-letter headers).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from eventing.consumer_retry import DependencyUnavailable
from eventing.kafka import client_config, producer_config
from kernel.event_types import TOPICS
from kernel.settings import Settings

log = logging.getLogger(__name__)

SUFFIX = ".dlq"
H_TOPIC = "dlq-original-topic"
H_PARTITION = "dlq-original-partition"
H_OFFSET = "dlq-original-offset"
H_GROUP = "dlq-consumer-group"
H_ERROR_CLASS = "dlq-error-class"
H_ERROR = "dlq-error"
H_FAILED_AT = "dlq-failed-at"
HEADERS = (H_TOPIC, H_PARTITION, H_OFFSET, H_GROUP, H_ERROR_CLASS, H_ERROR, H_FAILED_AT)
ERROR_TEXT_LIMIT = 1000
ACK_TIMEOUT_S = 10.0


def dead_letter_topic(topic: str) -> str:
    """``payment-events`` → ``payment-events.dlq``."""
    return f"{topic}{SUFFIX}"


def source_topic(dlq_topic: str) -> str | None:
    """``payment-events.dlq`` → ``payment-events``; ``None`` for a topic that is not a dead-letter topic."""
    return dlq_topic.removesuffix(SUFFIX) if dlq_topic.endswith(SUFFIX) else None


#: The dead-letter topic of every domain topic (created with the domain topics).
DEAD_LETTER_TOPICS: tuple[str, ...] = tuple(dead_letter_topic(t) for t in TOPICS)


def dead_letter_headers(message: Message, group: str, error: BaseException,
                        now: datetime | None = None) -> list[tuple[str, bytes]]:
    """The original headers (minus older dead-letter headers) plus where and why it failed."""
    kept = [(k, v) for k, v in (message.headers() or []) if k not in HEADERS]
    ours = {
        H_TOPIC: message.topic(),
        H_PARTITION: str(message.partition()),
        H_OFFSET: str(message.offset()),
        H_GROUP: group,
        H_ERROR_CLASS: type(error).__name__,
        H_ERROR: str(error)[:ERROR_TEXT_LIMIT],
        H_FAILED_AT: (now or datetime.now(UTC)).isoformat(timespec="milliseconds"),
    }
    return [*kept, *((k, v.encode()) for k, v in ours.items())]


@dataclass(frozen=True)
class Reason:
    """Why and from where a dead-lettered message came (its dead-letter headers, decoded)."""

    topic: str
    partition: int
    offset: int
    group: str
    error_class: str
    error: str
    failed_at: str


def reason_of(headers: Iterable[tuple[str, Any]]) -> Reason | None:
    """The :class:`Reason` in ``headers`` (bytes or text values); ``None`` when they are not all there."""
    values = {k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v or ""))
              for k, v in headers if k in HEADERS}
    try:
        return Reason(values[H_TOPIC], int(values[H_PARTITION]), int(values[H_OFFSET]), values[H_GROUP],
                      values[H_ERROR_CLASS], values[H_ERROR], values.get(H_FAILED_AT, ""))
    except (KeyError, ValueError):
        return None


def republish_headers(headers: Iterable[tuple[str, Any]], origin: str) -> list[tuple[str, Any]]:
    """Headers for sending a dead letter back: its own headers without the dead-letter ones, plus
    ``republished-from: <origin>``."""
    return [*((k, v) for k, v in headers if k not in HEADERS and k != "republished-from"),
            ("republished-from", origin)]


def ensure_topics(admin: AdminClient, topics: Iterable[str], timeout: float = 10.0) -> list[str]:
    """Create the missing dead-letter ``topics`` with their source topic's partition count; returns
    the ones created. The broker's default replication factor applies."""
    metadata = admin.list_topics(timeout=timeout).topics
    missing = [t for t in topics if t not in metadata]
    if not missing:
        return []
    new = [NewTopic(t, num_partitions=len(metadata[source_topic(t)].partitions) if source_topic(t) in metadata
                    else 3, replication_factor=-1) for t in missing]
    for topic, future in admin.create_topics(new, request_timeout=timeout).items():
        try:
            future.result(timeout)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):  # another consumer won the race
                raise
        log.info("created dead-letter topic %s", topic)
    return missing


class DeadLetterProducer:
    """Produces dead letters and waits for their acknowledgement (one per consumer process)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer = Producer(producer_config(settings))
        self._ready: set[str] = set()
        self._lock = threading.Lock()

    def _ensure(self, topic: str) -> None:
        if topic in self._ready:
            return
        admin = AdminClient(client_config(self._settings))
        ensure_topics(admin, [topic])
        self._ready.add(topic)

    def send(self, message: Message, group: str, error: BaseException) -> tuple[str, int, int]:
        """Produce ``message`` to its dead-letter topic; returns ``(topic, partition, offset)``.

        Raises :class:`DependencyUnavailable` when the broker does not acknowledge it, so the
        caller keeps the original uncommitted and retries later.
        """
        topic = dead_letter_topic(message.topic())
        report: dict[str, Any] = {}
        with self._lock:
            try:
                self._ensure(topic)
                self._producer.produce(topic, key=message.key(), value=message.value(),
                                       headers=dead_letter_headers(message, group, error),
                                       on_delivery=lambda err, msg: report.update(err=err, msg=msg))
                self._producer.flush(ACK_TIMEOUT_S)
            except (KafkaException, BufferError) as exc:
                raise DependencyUnavailable(f"dead-letter topic {topic}: {exc}") from exc
        if "msg" not in report:
            raise DependencyUnavailable(f"dead-letter topic {topic}: no acknowledgement in {ACK_TIMEOUT_S:g}s")
        if report["err"] is not None:
            raise DependencyUnavailable(f"dead-letter topic {topic}: {report['err']}")
        return topic, report["msg"].partition(), report["msg"].offset()

    def close(self) -> None:
        """Deliver anything still queued (bounded)."""
        self._producer.flush(5)


class DeadLetterCounter:
    """Counts dead letters per ``(consumer group, source topic)`` by reading the dead-letter topics.

    The log is the count: it survives consumer restarts and covers every consumer process.
    Each call reads only what arrived since the last one (dead-letter topics stay small).
    """

    def __init__(self, settings: Settings, topics: Iterable[str] = DEAD_LETTER_TOPICS) -> None:
        self._consumer = Consumer(client_config(settings, {"group.id": "cinemaabyss-lag-dlq",
                                                           "enable.auto.commit": False}))
        self._topics = tuple(topics)
        self._next: dict[tuple[str, int], int] = {}
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def counts(self, timeout: float = 3.0) -> dict[tuple[str, str], int]:
        """``(group, source topic) → dead letters so far``; topics that do not exist yet count zero."""
        with self._lock:
            metadata = self._consumer.list_topics(timeout=timeout).topics
            ranges: dict[tuple[str, int], tuple[int, int]] = {}
            for topic in self._topics:
                for partition in (metadata[topic].partitions if topic in metadata else ()):
                    low, high = self._consumer.get_watermark_offsets(TopicPartition(topic, partition),
                                                                     timeout=timeout, cached=False)
                    start = max(low, self._next.get((topic, partition), low))
                    if start < high:
                        ranges[(topic, partition)] = (start, high)
            if ranges:
                self._drain(ranges, timeout)
            return dict(self._counts)

    def _drain(self, ranges: dict[tuple[str, int], tuple[int, int]], timeout: float) -> None:
        self._consumer.assign([TopicPartition(t, p, start) for (t, p), (start, _) in ranges.items()])
        deadline = time.monotonic() + timeout
        try:
            while ranges and time.monotonic() < deadline:
                for record in self._consumer.consume(num_messages=500, timeout=0.2):
                    if record.error() is not None:
                        continue
                    tp = (record.topic(), record.partition())
                    reason = reason_of(record.headers() or [])
                    group = reason.group if reason else "unknown"
                    source = reason.topic if reason else (source_topic(record.topic()) or record.topic())
                    self._counts[(group, source)] = self._counts.get((group, source), 0) + 1
                    self._next[tp] = record.offset() + 1
                    if tp in ranges and record.offset() + 1 >= ranges[tp][1]:
                        del ranges[tp]
        finally:
            self._consumer.unassign()

    def close(self) -> None:
        """Close the consumer."""
        self._consumer.close()
