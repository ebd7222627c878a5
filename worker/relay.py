"""The outbox relay: claim pending rows, produce them, mark only the delivered ones published.

One call of :func:`relay_batch` is one database transaction: the claimed rows stay locked
(``FOR UPDATE SKIP LOCKED``) while their messages are in flight, so a second relay never
produces the same row concurrently, and a crash before the commit leaves them pending. A row
is marked published only after the broker acknowledged it (``acks=all``); a failed row gets
``attempts + 1``, its error and an exponentially growing ``available_at``. The worst case
is a message delivered whose acknowledgement was lost: it is produced again later and the
idempotent consumers absorb the duplicate.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from sqlalchemy import Engine, text

log = logging.getLogger(__name__)

BATCH_SIZE = 500
# Backoff of a failed row: BASE * 2**(attempts-1) seconds, capped, so an outage of minutes
# costs at most one retry per row per CAP once the broker is back.
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
# How long one batch waits for its delivery reports; above the producer's message.timeout.ms
# so every message gets its final report (delivered or timed out) inside the wait.
FLUSH_TIMEOUT_S = 15.0

_CLAIM = text(
    """
    SELECT id, topic, key, payload::text
    FROM outbox
    WHERE published_at IS NULL AND available_at <= now()
    ORDER BY created_at
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
    """
)
_MARK_PUBLISHED = text("UPDATE outbox SET published_at = now() WHERE id = ANY(:ids)")
_MARK_FAILED = text(
    """
    UPDATE outbox
    SET attempts = attempts + 1,
        last_error = :error,
        available_at = now() + make_interval(secs => least(:cap, :base * power(2, attempts)))
    WHERE id = ANY(:ids)
    """
)


@dataclass
class BatchResult:
    """What one batch did."""

    claimed: int = 0
    published: int = 0
    failed: int = 0
    errors: set[str] = field(default_factory=set)


def relay_batch(engine: Engine, producer: Producer, limit: int = BATCH_SIZE) -> BatchResult:
    """Relay up to ``limit`` pending rows in one transaction; returns the counts."""
    result = BatchResult()
    with engine.begin() as conn:
        rows = conn.execute(_CLAIM, {"limit": limit}).all()
        result.claimed = len(rows)
        if not rows:
            return result
        delivered: list[uuid.UUID] = []
        failed: dict[uuid.UUID, str] = {}

        def report(row_id: uuid.UUID) -> Callable[[KafkaError | None, Message], None]:
            def on_delivery(err: KafkaError | None, msg: Message) -> None:
                if err is None:
                    delivered.append(row_id)
                else:
                    failed[row_id] = str(err)

            return on_delivery

        for row_id, topic, key, payload in rows:
            try:
                producer.produce(topic, key=key.encode(), value=payload.encode(), on_delivery=report(row_id))
            except (BufferError, KafkaException) as exc:  # local queue full or unknown topic
                failed[row_id] = str(exc)
            producer.poll(0)  # serve reports early so the local queue drains while producing
        remaining = producer.flush(FLUSH_TIMEOUT_S)
        answered = set(delivered) | set(failed)
        for row_id, *_ in rows:
            if row_id not in answered:  # no report in time: treat as failed, retried later
                failed[row_id] = f"no delivery report within {FLUSH_TIMEOUT_S:g}s ({remaining} in queue)"
        if delivered:
            conn.execute(_MARK_PUBLISHED, {"ids": delivered})
        if failed:
            # one error text per batch is enough to diagnose; rows differ only in their id
            error = next(iter(failed.values()))[:500]
            conn.execute(_MARK_FAILED, {"ids": list(failed), "error": error, "cap": BACKOFF_CAP_S,
                                        "base": BACKOFF_BASE_S})
        result.published, result.failed = len(delivered), len(failed)
        result.errors = set(failed.values())
    return result


def relay_pending(engine: Engine, producer: Producer, *, limit: int = BATCH_SIZE, max_seconds: float = 30.0) -> int:
    """Relay batches while they come back full and nothing fails; returns the rows published.

    Stopping on a failure keeps a dead broker from turning one task into a retry loop; the
    failed rows wait for their backoff and the next sweep.
    """
    deadline = time.monotonic() + max_seconds
    published = 0
    while True:
        batch = relay_batch(engine, producer, limit)
        published += batch.published
        if batch.failed:
            log.warning("outbox relay: %d of %d rows not delivered: %s", batch.failed, batch.claimed,
                        "; ".join(sorted(batch.errors))[:300])
            return published
        if batch.claimed < limit or time.monotonic() >= deadline:
            return published

