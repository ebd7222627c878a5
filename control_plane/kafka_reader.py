"""Read-only access to Kafka for the topic viewer and the event stream.

Reads never join a consumer group: a pooled consumer is *assigned* explicit offsets (e.g.
``high - N`` per partition for "newest N"), drains up to the high watermark seen at the
start, and is unassigned again. Timeouts are short and bounded by a per-call deadline, so a
slow or absent broker costs a page about two seconds, never a hung worker.
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from control_plane.clients import KAFKA_TIMEOUT, kafka_admin, kafka_consumer_config, kafka_producer
from control_plane.masking import PERSONAL_KEY_RE, mask, mask_fields

READ_DEADLINE = 3.0  # seconds one read may take in total
MAX_LIMIT = 500
class KafkaUnavailable(Exception):
    """The broker did not answer in time (the page shows a banner instead)."""


class TopicNotFound(Exception):
    """No such topic."""


@dataclass
class PartitionInfo:
    """One partition's offsets."""

    partition: int
    low: int
    high: int

    @property
    def count(self) -> int:
        """Messages currently retained (exact unless the topic is compacted)."""
        return max(0, self.high - self.low)


@dataclass
class TopicInfo:
    """A topic and its partitions."""

    name: str
    partitions: list[PartitionInfo]

    @property
    def count(self) -> int:
        """Messages across partitions."""
        return sum(p.count for p in self.partitions)


@dataclass
class Message:
    """One record, decoded for display."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: str | None
    value: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    parsed: Any = None
    raw_size: int | None = None  # bytes of the value as stored (set on masked copies)

    @property
    def timestamp(self) -> str:
        """ISO 8601 (UTC) of the record's timestamp."""
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC).isoformat(timespec="milliseconds")

    @property
    def pretty(self) -> str:
        """Indented JSON when the value is JSON, else the raw text."""
        return json.dumps(self.parsed, indent=2, ensure_ascii=False) if self.parsed is not None else self.value

    @property
    def event_type(self) -> str:
        """``type.action`` of an event envelope, else empty."""
        if isinstance(self.parsed, dict) and "type" in self.parsed:
            return f"{self.parsed.get('type')}.{self.parsed.get('action', '')}".rstrip(".")
        return ""

    def as_dict(self) -> dict[str, Any]:
        """Export shape."""
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset,
                "timestamp": self.timestamp, "key": self.key,
                "value": self.parsed if self.parsed is not None else self.value,
                "headers": dict(self.headers)}

    def masked(self) -> Message:
        """A copy with personal data masked in key, value and headers (by field name, then by pattern)."""
        if self.parsed is not None:
            parsed = mask_fields(self.parsed)
            value = json.dumps(parsed, ensure_ascii=False)
        else:
            parsed, value = None, mask(self.value)
        return Message(self.topic, self.partition, self.offset, self.timestamp_ms,
                       mask(self.key) if self.key is not None else None, value,
                       [(k, "***" if PERSONAL_KEY_RE.search(k) else mask(v)) for k, v in self.headers], parsed,
                       self.size)

    @property
    def size(self) -> int:
        """Bytes of the value as stored in Kafka (UTF-8), also on a masked copy."""
        return self.raw_size if self.raw_size is not None else len(self.value.encode())


@dataclass
class ReadResult:
    """Messages read plus how many were looked at (for bounded scans)."""

    messages: list[Message]
    scanned: int
    complete: bool = True  # False when the deadline cut the read short


def _decode(raw: bytes | None) -> str | None:
    return raw.decode("utf-8", errors="replace") if raw is not None else None


def _parse(value: str) -> Any:
    if not value or value[0] not in "{[":
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _message(record: Any) -> Message:
    value = _decode(record.value()) or ""
    headers = [(k, _decode(v) or "") for k, v in (record.headers() or [])]
    return Message(record.topic(), record.partition(), record.offset(), record.timestamp()[1],
                   _decode(record.key()), value, headers, _parse(value))


class _ConsumerPool:
    """A few idle consumers kept connected, so a read skips the connection set-up."""

    def __init__(self, size: int = 4) -> None:
        self._idle: queue.SimpleQueue[Consumer] = queue.SimpleQueue()
        self._size = size

    @contextmanager
    def borrow(self) -> Iterator[Consumer]:
        try:
            consumer = self._idle.get_nowait()
        except queue.Empty:
            consumer = Consumer(kafka_consumer_config())
        healthy = False
        try:
            yield consumer
            healthy = True
        finally:
            try:
                consumer.unassign()
            except KafkaException:
                healthy = False
            if healthy and self._idle.qsize() < self._size:
                self._idle.put(consumer)
            else:
                consumer.close()


_pool = _ConsumerPool()


def _guard(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except KafkaException as exc:
        raise KafkaUnavailable(str(exc)) from None


def _partition_ids(topic: str) -> list[int]:
    meta = _guard(kafka_admin().list_topics, topic, timeout=KAFKA_TIMEOUT)
    info = meta.topics.get(topic)
    if info is None or (info.error is not None and info.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART):
        raise TopicNotFound(topic)
    if info.error is not None:
        raise KafkaUnavailable(str(info.error))
    return sorted(info.partitions)


def _watermarks(consumer: Consumer, topic: str, partitions: list[int]) -> dict[int, tuple[int, int]]:
    return {p: _guard(consumer.get_watermark_offsets, TopicPartition(topic, p), timeout=KAFKA_TIMEOUT, cached=False)
            for p in partitions}


def list_topics() -> list[TopicInfo]:
    """Every non-internal topic with partitions, earliest/latest offsets and message counts."""
    meta = _guard(kafka_admin().list_topics, timeout=KAFKA_TIMEOUT)
    names = sorted(n for n in meta.topics if not n.startswith("__"))
    with _pool.borrow() as consumer:
        return [
            TopicInfo(name, [PartitionInfo(p, lo, hi) for p, (lo, hi) in
                             _watermarks(consumer, name, sorted(meta.topics[name].partitions)).items()])
            for name in names
        ]


def topic_info(topic: str) -> TopicInfo:
    """One topic's partitions and offsets."""
    partitions = _partition_ids(topic)
    with _pool.borrow() as consumer:
        marks = _watermarks(consumer, topic, partitions)
    return TopicInfo(topic, [PartitionInfo(p, lo, hi) for p, (lo, hi) in marks.items()])


def _drain(consumer: Consumer, topic: str, ranges: dict[int, tuple[int, int]]) -> ReadResult:
    """Read ``[start, stop)`` of each partition; stop at the deadline."""
    ranges = {p: r for p, r in ranges.items() if r[0] < r[1]}
    if not ranges:
        return ReadResult([], 0)
    consumer.assign([TopicPartition(topic, p, start) for p, (start, _stop) in ranges.items()])
    pending = set(ranges)
    out: list[Message] = []
    deadline = time.monotonic() + READ_DEADLINE
    while pending and time.monotonic() < deadline:
        for record in consumer.consume(num_messages=1000, timeout=0.1):
            part = record.partition()
            if record.error():
                if record.error().code() == KafkaError._PARTITION_EOF:
                    pending.discard(part)
                    continue
                raise KafkaUnavailable(str(record.error()))
            start, stop = ranges.get(part, (0, -1))
            if start <= record.offset() < stop:
                out.append(_message(record))
            if record.offset() >= stop - 1:
                pending.discard(part)
    return ReadResult(out, len(out), complete=not pending)


def newest(topic: str, limit: int = 50, partition: int | None = None) -> ReadResult:
    """The newest ``limit`` messages, newest first (last ``limit`` of every partition, merged by time)."""
    limit = max(1, min(limit, MAX_LIMIT))
    partitions = _partitions(topic, partition)
    with _pool.borrow() as consumer:
        marks = _watermarks(consumer, topic, partitions)
        result = _drain(consumer, topic, {p: (max(lo, hi - limit), hi) for p, (lo, hi) in marks.items()})
    result.messages.sort(key=lambda m: (m.timestamp_ms, m.offset), reverse=True)
    result.messages = result.messages[:limit]
    return result


def from_offset(topic: str, partition: int, offset: int, limit: int = 50) -> ReadResult:
    """Up to ``limit`` messages of one partition starting at ``offset``, oldest first."""
    limit = max(1, min(limit, MAX_LIMIT))
    if partition not in _partition_ids(topic):
        raise TopicNotFound(f"{topic} has no partition {partition}")
    with _pool.borrow() as consumer:
        lo, hi = _watermarks(consumer, topic, [partition])[partition]
        start = max(lo, offset)
        return _drain(consumer, topic, {partition: (start, min(hi, start + limit))})


def _partitions(topic: str, partition: int | None) -> list[int]:
    """Every partition of ``topic``, or just ``partition`` (:class:`TopicNotFound` if it has no such one)."""
    partitions = _partition_ids(topic)
    if partition is None:
        return partitions
    if partition not in partitions:
        raise TopicNotFound(f"{topic} has no partition {partition}")
    return [partition]


def from_time(topic: str, when: datetime, limit: int = 50, partition: int | None = None) -> ReadResult:
    """Up to ``limit`` messages at or after ``when`` (``offsets_for_times``), oldest first."""
    limit = max(1, min(limit, MAX_LIMIT))
    partitions = _partitions(topic, partition)
    ms = int(when.timestamp() * 1000)
    with _pool.borrow() as consumer:
        marks = _watermarks(consumer, topic, partitions)
        found = _guard(consumer.offsets_for_times, [TopicPartition(topic, p, ms) for p in partitions],
                       timeout=KAFKA_TIMEOUT)
        ranges = {}
        for tp in found:
            lo, hi = marks[tp.partition]
            start = hi if tp.offset < 0 else max(lo, tp.offset)
            ranges[tp.partition] = (start, min(hi, start + limit))
        result = _drain(consumer, topic, ranges)
    result.messages.sort(key=lambda m: (m.timestamp_ms, m.offset))
    result.messages = result.messages[:limit]
    return result


def search(topic: str, needle: str, limit: int = 50, scan: int = 10_000, *, partition: int | None = None,
           masked: bool = False) -> ReadResult:
    """Messages whose key or value contains ``needle`` (case-insensitive) among the newest ``scan``.

    With ``masked`` the messages are masked *before* matching, so a search for a hidden
    address finds nothing (the search box is no oracle for what the mask hides).
    """
    needle_lower = needle.lower()
    partitions = _partitions(topic, partition)
    per_partition = max(1, scan // max(1, len(partitions)))
    with _pool.borrow() as consumer:
        marks = _watermarks(consumer, topic, partitions)
        result = _drain(consumer, topic, {p: (max(lo, hi - per_partition), hi) for p, (lo, hi) in marks.items()})
    def matches(m: Message) -> bool:
        return needle_lower in m.value.lower() or (m.key is not None and needle_lower in m.key.lower())

    if masked:
        # Masking costs ~50 µs a message; only a raw match (or a needle with the mask's "*")
        # can match once masked, so mask just those and match again.
        hits = [c for c in (m.masked() for m in result.messages if "*" in needle or matches(m)) if matches(c)]
    else:
        hits = [m for m in result.messages if matches(m)]
    hits.sort(key=lambda m: (m.timestamp_ms, m.offset), reverse=True)
    return ReadResult(hits[:limit], result.scanned, result.complete)


def get_message(topic: str, partition: int, offset: int) -> Message | None:
    """The record at ``partition``/``offset``, or None when it is not retained."""
    found = from_offset(topic, partition, offset, 1).messages
    return found[0] if found and found[0].offset == offset else None


def produce(topic: str, key: str | None, value: str, headers: list[tuple[str, str]] | None = None) -> tuple[int, int]:
    """Produce one message and wait for the broker's ack; returns ``(partition, offset)``."""
    delivered: dict[str, Any] = {}

    def on_delivery(err, msg) -> None:
        delivered["err"], delivered["msg"] = err, msg

    producer = kafka_producer()
    _guard(producer.produce, topic, key=key.encode() if key is not None else None, value=value.encode(),
           headers=[(k, v.encode()) for k, v in (headers or [])], on_delivery=on_delivery)
    producer.flush(5)
    if "msg" not in delivered:
        raise KafkaUnavailable("no delivery report within 5 s")
    if delivered["err"] is not None:
        raise KafkaUnavailable(str(delivered["err"]))
    return delivered["msg"].partition(), delivered["msg"].offset()
