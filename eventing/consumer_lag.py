"""Consumer lag you can see: per group, messages not yet processed and the age of the oldest one.

Lag is ``high watermark - committed offset`` per partition (a group that never committed on
a partition starts at its low watermark, as ``auto.offset.reset=earliest`` does). The age of
the oldest unprocessed message is *now - timestamp* of the record at the committed offset —
the one the group will handle next — so it grows while a group is stuck or down, and is
``None`` when the group is caught up.

Reads never join a group: the reader's consumer is assigned explicit offsets. Callers: the
events service's ``/metrics`` and the console dashboard (:func:`consumer_lag`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from eventing.kafka import client_config
from kernel.settings import Settings

TIMEOUT_S = 3.0
READER_GROUP = "cinemaabyss-lag-reader"  # required by librdkafka; never joined, never committed
# Groups that only read for people (console viewer, test readers): not consumers of the pipeline.
IGNORED_PREFIXES = ("cinemaabyss-console", "cinemaabyss-lag", "test-reader")


class LagUnavailable(Exception):
    """The broker did not answer in time."""


@dataclass(frozen=True)
class PartitionLag:
    """One partition of one group."""

    topic: str
    partition: int
    committed: int  # -1: the group never committed here
    low: int
    high: int
    oldest_age_s: float | None = None

    @property
    def next_offset(self) -> int:
        """The offset the group handles next."""
        return max(self.committed, self.low)

    @property
    def lag(self) -> int:
        """Messages the group has not processed yet."""
        return max(0, self.high - self.next_offset)


@dataclass(frozen=True)
class GroupLag:
    """A consumer group's lag over every partition it committed on."""

    group: str
    partitions: tuple[PartitionLag, ...]

    @property
    def lag(self) -> int:
        """Total unprocessed messages."""
        return sum(p.lag for p in self.partitions)

    @property
    def oldest_age_s(self) -> float | None:
        """Age in seconds of the oldest unprocessed message; ``None`` when caught up."""
        ages = [p.oldest_age_s for p in self.partitions if p.oldest_age_s is not None]
        return max(ages) if ages else None

    def topics(self) -> list[str]:
        """The topics of the group's partitions."""
        return sorted({p.topic for p in self.partitions})


class LagReader:
    """Long-lived admin client and assign-only consumer for lag queries (thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        self._admin = AdminClient(client_config(settings, {"socket.timeout.ms": int(TIMEOUT_S * 1000)}))
        self._consumer = Consumer(client_config(settings, {"group.id": READER_GROUP, "enable.auto.commit": False,
                                                           "enable.partition.eof": False}))
        self._lock = threading.Lock()

    def groups(self) -> list[str]:
        """The pipeline's consumer groups known to the broker (readers for people left out)."""
        try:
            listing = self._admin.list_consumer_groups(request_timeout=TIMEOUT_S).result(timeout=TIMEOUT_S + 1)
        except KafkaException as exc:
            raise LagUnavailable(str(exc)) from None
        return sorted(g.group_id for g in listing.valid if not g.group_id.startswith(IGNORED_PREFIXES))

    def read(self, groups: Iterable[str] | None = None, now: float | None = None) -> list[GroupLag]:
        """Lag and oldest-message age of ``groups`` (default: :meth:`groups`)."""
        with self._lock:
            try:
                return self._read(list(self.groups() if groups is None else groups), now)
            except KafkaException as exc:
                raise LagUnavailable(str(exc)) from None

    def _read(self, groups: list[str], now: float | None) -> list[GroupLag]:
        committed: dict[str, list[TopicPartition]] = {}
        for group in groups:
            futures = self._admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)],
                                                              request_timeout=TIMEOUT_S)
            committed[group] = list(futures[group].result(timeout=TIMEOUT_S + 1).topic_partitions)
        marks: dict[tuple[str, int], tuple[int, int]] = {}
        for tps in committed.values():
            for tp in tps:
                if (tp.topic, tp.partition) not in marks:
                    marks[(tp.topic, tp.partition)] = self._consumer.get_watermark_offsets(
                        TopicPartition(tp.topic, tp.partition), timeout=TIMEOUT_S, cached=False)
        lags = {g: [PartitionLag(tp.topic, tp.partition, tp.offset, *marks[(tp.topic, tp.partition)])
                    for tp in tps] for g, tps in committed.items()}
        wanted = {(p.topic, p.partition, p.next_offset) for ps in lags.values() for p in ps if p.lag}
        stamps = self._timestamps(wanted)
        now = time.time() if now is None else now
        return [GroupLag(g, tuple(PartitionLag(p.topic, p.partition, p.committed, p.low, p.high,
                                               _age(stamps.get((p.topic, p.partition, p.next_offset)), now))
                                  for p in ps)) for g, ps in lags.items()]

    def _timestamps(self, wanted: set[tuple[str, int, int]]) -> dict[tuple[str, int, int], float]:
        """Record timestamps (epoch seconds) at the given offsets, read within the timeout."""
        found: dict[tuple[str, int, int], float] = {}
        by_partition: dict[tuple[str, int], list[int]] = {}
        for topic, partition, offset in wanted:
            by_partition.setdefault((topic, partition), []).append(offset)
        deadline = time.monotonic() + TIMEOUT_S
        # one partition offset at a time per pass: several groups may wait at different offsets
        while by_partition and time.monotonic() < deadline:
            batch = {tp: offsets.pop() for tp, offsets in by_partition.items()}
            by_partition = {tp: offsets for tp, offsets in by_partition.items() if offsets}
            self._consumer.assign([TopicPartition(t, p, o) for (t, p), o in batch.items()])
            pending = dict(batch)
            while pending and time.monotonic() < deadline:
                for record in self._consumer.consume(num_messages=len(pending), timeout=0.2):
                    key = (record.topic(), record.partition())
                    if record.error() is not None:
                        if record.error().code() != KafkaError._PARTITION_EOF:
                            raise KafkaException(record.error())
                        continue
                    if key in pending and record.offset() >= pending[key]:
                        found[(*key, pending.pop(key))] = record.timestamp()[1] / 1000
            self._consumer.unassign()
        return found

    def close(self) -> None:
        """Close the consumer."""
        self._consumer.close()


def _age(timestamp: float | None, now: float) -> float | None:
    return None if timestamp is None else max(0.0, now - timestamp)


_readers: dict[str, LagReader] = {}
_readers_lock = threading.Lock()


def consumer_lag(settings: Settings, groups: Iterable[str] | None = None) -> list[GroupLag]:
    """Lag per consumer group (default: every pipeline group on the broker) with the age of the
    oldest unprocessed message. Raises :class:`LagUnavailable` when the broker does not answer.

    One reader per broker address is kept for the life of the process, so a dashboard refresh
    costs the queries only, not a new connection.
    """
    with _readers_lock:
        reader = _readers.get(settings.kafka_brokers)
        if reader is None:
            reader = _readers[settings.kafka_brokers] = LagReader(settings)
    return reader.read(groups)
