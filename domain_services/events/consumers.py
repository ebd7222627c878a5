"""Kafka consumers of the events service: a batch loop and the ``events-service`` log handler.

Offsets are committed only after a batch's handler returned, so a crash re-delivers the
batch; handlers are idempotent by event id (``processed_events``), so a re-delivery, or a
message the relay produced twice, has no second effect.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition
from sqlalchemy import text

from domain_services.shared.db import get_engine
from domain_services.shared.kafka import decode, make_consumer
from domain_services.shared.settings import Settings, get_settings

log = logging.getLogger(__name__)

GROUP = "events-service"
BATCH = 500
RETRY_PAUSE_S = 1.0


@dataclass(frozen=True)
class Delivery:
    """One consumed message and its envelope (``None`` when the value is not an envelope)."""

    message: Message
    envelope: dict[str, Any] | None


BatchHandler = Callable[[list[Delivery]], None]


def _rewind(consumer: Any, batch: list[Delivery]) -> None:
    """Seek every partition of ``batch`` back to its first message so it is consumed again."""
    first: dict[tuple[str, int], int] = {}
    for d in batch:
        tp = (d.message.topic(), d.message.partition())
        first[tp] = min(first.get(tp, d.message.offset()), d.message.offset())
    for (topic, partition), offset in first.items():
        consumer.seek(TopicPartition(topic, partition, offset))


def run_consumer(group: str, topics: Iterable[str], handle: BatchHandler, stop: threading.Event,
                 settings: Settings | None = None) -> None:
    """Consume ``topics`` as ``group`` until ``stop`` is set: handle a batch, then commit it.

    A failing handler (database down ...) does not lose the batch: the partitions are
    rewound and the batch is retried after a pause, without committing.
    """
    consumer = make_consumer(group, settings)
    consumer.subscribe(list(topics))
    try:
        while not stop.is_set():
            messages = consumer.consume(num_messages=BATCH, timeout=0.5)
            batch = []
            for message in messages:
                if message.error():
                    if message.error().code() != KafkaError._PARTITION_EOF:
                        log.warning("%s: consumer error: %s", group, message.error())
                    continue
                batch.append(Delivery(message, decode(message.value())))
            if not batch:
                continue
            try:
                handle(batch)
            except Exception:  # retried below; the batch is not committed
                log.exception("%s: handling %d messages failed; retrying", group, len(batch))
                _rewind(consumer, batch)
                stop.wait(RETRY_PAUSE_S)
                continue
            try:
                consumer.commit(asynchronous=False)
            except KafkaException as exc:  # e.g. a rebalance revoked the partitions: re-delivered, absorbed
                log.warning("%s: offset commit failed: %s", group, exc)
    finally:
        consumer.close()


# -- events-service: one structured line per event -----------------------------------------

_CLAIM = text(
    "INSERT INTO processed_events (consumer, event_id) SELECT :consumer, unnest(CAST(:ids AS text[])) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)


def event_logger() -> logging.Logger:
    """The logger of the per-event lines: bare JSON on stdout, one object per line."""
    logger = logging.getLogger("events.stream")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def claim_events(consumer: str, event_ids: list[str], url: str | None = None) -> set[str]:
    """Record ``event_ids`` as processed by ``consumer``; returns those not seen before."""
    if not event_ids:
        return set()
    with get_engine(url).begin() as conn:
        return set(conn.scalars(_CLAIM, {"consumer": consumer, "ids": list(dict.fromkeys(event_ids))}))


def log_events(batch: list[Delivery]) -> None:
    """The ``events-service`` handler: claim the batch's ids in one transaction, log each event."""
    ids = [str(d.envelope["id"]) for d in batch if d.envelope and d.envelope.get("id")]
    fresh = claim_events(GROUP, ids)
    out = event_logger()
    for d in batch:
        env = d.envelope or {}
        event_id = str(env.get("id", ""))
        duplicate = event_id not in fresh
        fresh.discard(event_id)  # a second copy within the same batch is a duplicate too
        out.info(json.dumps({
            "event": "consumed",
            "consumer": GROUP,
            "topic": d.message.topic(),
            "type": env.get("type"),
            "action": env.get("action"),
            "id": event_id or None,
            "partition": d.message.partition(),
            "offset": d.message.offset(),
            "duplicate": duplicate and bool(event_id),
            "valid": bool(event_id),
        }, separators=(",", ":")))


def run_all(consumers: dict[str, tuple[Iterable[str], BatchHandler]], stop: threading.Event | None = None) -> None:
    """Run each ``group → (topics, handler)`` on its own thread until ``stop`` (or forever)."""
    stop = stop or threading.Event()
    settings = get_settings()
    threads = [
        threading.Thread(target=run_consumer, args=(group, topics, handler, stop, settings), name=group, daemon=True)
        for group, (topics, handler) in consumers.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

