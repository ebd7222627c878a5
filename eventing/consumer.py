"""The consumer loop every consumer process runs: handle a batch, commit it, never stall on one message.

Offsets are committed only after the handler returned, so a crash re-delivers; handlers are
idempotent by event id (``processed_events``), so a re-delivery has no second effect.

When a batch fails, the error decides (:mod:`eventing.consumer_retry`):

- transient (database down ...): the batch is rewound and retried after a capped back-off,
  without limit — nothing is committed, skipped or dead-lettered;
- anything else: the batch is handled again one message at a time. The handled messages are
  committed; the failing one is retried ``max_attempts`` times with back-off, then produced
  to ``<topic>.dlq`` (acknowledged before its offset is committed) and the partition moves on.

Rewinding means seeking back and consuming again, so the consumer keeps polling (and keeps
its group membership) however long a dependency is down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition

from eventing.consumer_retry import DeadLetter, PoisonMessage, RetryPolicy, is_transient
from eventing.dead_letters import DeadLetterProducer
from eventing.kafka import decode, make_consumer
from kernel.settings import Settings

log = logging.getLogger(__name__)

BATCH = 500
POLL_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class Delivery:
    """One consumed message and its envelope (``None`` when the value is not an envelope)."""

    message: Message
    envelope: dict[str, Any] | None

    @property
    def position(self) -> tuple[str, int, int]:
        """``(topic, partition, offset)``."""
        return self.message.topic(), self.message.partition(), self.message.offset()


BatchHandler = Callable[[list[Delivery]], None]


class DeadLetterSink(Protocol):
    """Where given-up messages go (:class:`DeadLetterProducer`; a fake in unit tests)."""

    def send(self, message: Message, group: str, error: BaseException) -> tuple[str, int, int]: ...


def first_offsets(batch: Iterable[Delivery]) -> dict[tuple[str, int], int]:
    """The lowest offset of each ``(topic, partition)`` in ``batch``."""
    first: dict[tuple[str, int], int] = {}
    for d in batch:
        topic, partition, offset = d.position
        first[(topic, partition)] = min(first.get((topic, partition), offset), offset)
    return first


def next_offsets(done: Iterable[Delivery]) -> dict[tuple[str, int], int]:
    """The offset to commit per partition after ``done`` were handled: last handled + 1."""
    last: dict[tuple[str, int], int] = {}
    for d in done:
        topic, partition, offset = d.position
        last[(topic, partition)] = max(last.get((topic, partition), offset), offset)
    return {tp: offset + 1 for tp, offset in last.items()}


class ConsumerLoop:
    """One consumer group's loop over a Kafka consumer (any object with ``consume``/``seek``/``commit``)."""

    def __init__(self, group: str, consumer: Any, handle: BatchHandler, dead_letters: DeadLetterSink,
                 stop: threading.Event, *, policy: RetryPolicy | None = None, require_envelope: bool = False) -> None:
        self.group = group
        self.consumer = consumer
        self.handle = handle
        self.dead_letters = dead_letters
        self.stop = stop
        self.policy = policy or RetryPolicy()
        self.require_envelope = require_envelope
        self._attempts: dict[tuple[str, int, int], int] = {}  # failed attempts of messages being retried
        self._transient_streak = 0

    def run(self) -> None:
        """Loop until ``stop`` is set."""
        while not self.stop.is_set():
            self.step()

    def poll(self) -> list[Delivery]:
        """The next batch (possibly empty); consumer errors other than end-of-partition are logged."""
        batch = []
        for message in self.consumer.consume(num_messages=BATCH, timeout=POLL_TIMEOUT_S):
            if message.error():
                if message.error().code() != KafkaError._PARTITION_EOF:
                    log.warning("%s: consumer error: %s", self.group, message.error())
                continue
            batch.append(Delivery(message, decode(message.value())))
        return batch

    def step(self) -> None:
        """Consume and process one batch."""
        batch = self.poll()
        if not batch:
            return
        if not any(d.position in self._attempts for d in batch):
            try:
                self._handle(batch)
            except Exception as exc:
                if is_transient(exc):
                    self._retry_later(batch, exc, [])
                    return
                log.warning("%s: batch of %d failed (%s: %s); handling one by one", self.group, len(batch),
                            type(exc).__name__, exc)
            else:
                self._succeeded(batch)
                return
        self._one_by_one(batch)

    def _handle(self, batch: list[Delivery]) -> None:
        if self.require_envelope:
            for d in batch:
                if d.envelope is None:
                    raise PoisonMessage("message value is not a JSON event envelope")
        self.handle(batch)

    def _one_by_one(self, batch: list[Delivery]) -> None:
        done: list[Delivery] = []
        for index, delivery in enumerate(batch):
            try:
                self._handle([delivery])
            except Exception as exc:
                attempt = self._attempts.get(delivery.position, 0) + 1
                decision = self.policy.decide(exc, attempt)
                if isinstance(decision, DeadLetter) and self._dead_letter(delivery, exc, attempt):
                    done.append(delivery)
                    continue
                if not is_transient(exc):
                    self._attempts[delivery.position] = attempt
                self._retry_later(batch[index:], exc, done, attempt)
                return
            self._attempts.pop(delivery.position, None)
            done.append(delivery)
        self._succeeded(done)

    def _dead_letter(self, delivery: Delivery, error: BaseException, attempt: int) -> bool:
        """Produce to the dead-letter topic; False (retried later) when it is not acknowledged."""
        try:
            where = self.dead_letters.send(delivery.message, self.group, error)
        except Exception as exc:  # any failure here keeps the message where it is
            log.warning("%s: dead-lettering %s/%d/%d failed: %s", self.group, *delivery.position, exc)
            return False
        self._attempts.pop(delivery.position, None)
        log.error("%s: dead-lettered %s/%d/%d after %d attempt(s) to %s/%d/%d: %s: %s", self.group,
                  *delivery.position, attempt, *where, type(error).__name__, error)
        return True

    def _succeeded(self, done: list[Delivery]) -> None:
        self._transient_streak = 0
        self._commit(done)

    def _retry_later(self, remaining: list[Delivery], error: BaseException, done: list[Delivery],
                     attempt: int | None = None) -> None:
        """Commit ``done``, rewind to the first of ``remaining`` per partition, pause."""
        self._commit(done)
        if is_transient(error):
            self._transient_streak += 1
            delay = self.policy.delay(self._transient_streak)
            log.warning("%s: %s (%s); retrying %d message(s) in %.1fs", self.group, type(error).__name__,
                        str(error).splitlines()[0][:200] if str(error) else "", len(remaining), delay)
        else:
            delay = self.policy.delay(attempt or 1)
            log.warning("%s: %s/%d/%d failed (attempt %d of %d): %s: %s", self.group, *remaining[0].position,
                        attempt or 1, self.policy.max_attempts, type(error).__name__, error)
        for (topic, partition), offset in first_offsets(remaining).items():
            self.consumer.seek(TopicPartition(topic, partition, offset))
        self.stop.wait(delay)

    def _commit(self, done: list[Delivery]) -> None:
        if not done:
            return
        committing = next_offsets(done)
        # forget retry counts of positions now behind the commit (e.g. handled after a rebalance)
        for position in [p for p in self._attempts if p[2] < committing.get((p[0], p[1]), -1)]:
            del self._attempts[position]
        offsets = [TopicPartition(t, p, o) for (t, p), o in committing.items()]
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:  # e.g. a rebalance revoked the partitions: re-delivered, absorbed
            log.warning("%s: offset commit failed: %s", self.group, exc)


def run_consumer(group: str, topics: Iterable[str], handle: BatchHandler, stop: threading.Event,
                 settings: Settings, *, policy: RetryPolicy | None = None,
                 require_envelope: bool = False) -> None:
    """Consume ``topics`` as ``group`` with ``handle`` until ``stop`` is set (see the module docstring).

    ``settings`` come from the consumer process's entry point (its composition root).
    """
    policy = policy or RetryPolicy(settings.consumer_max_attempts, settings.consumer_retry_backoff_ms / 1000,
                                   settings.consumer_retry_max_backoff_ms / 1000)
    consumer = make_consumer(group, settings)
    dead_letters = DeadLetterProducer(settings)
    consumer.subscribe(list(topics))
    try:
        ConsumerLoop(group, consumer, handle, dead_letters, stop, policy=policy,
                     require_envelope=require_envelope).run()
    finally:
        consumer.close()
        dead_letters.close()
