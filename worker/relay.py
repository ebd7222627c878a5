"""The outbox relay: claim pending rows, produce them, mark only the delivered ones published.

Per-key order: a row is produced only when every earlier row of its ``(topic, key)`` (lower
``seq``) is published or produced before it in the same batch. A failed row therefore holds
back the rest of its key until it is delivered, while other keys flow on. Within a batch a
key never has two rows in flight: rows go out in rounds (each key's next row only after its
previous one was acknowledged), so even a broker refusing one message cannot let the next
overtake it. Distinct keys share a round, so a batch of 500 new aggregates is one round.

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
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from sqlalchemy import Engine, text

from kernel import backoff

log = logging.getLogger(__name__)

BATCH_SIZE = 500
# Backoff of a failed row (kernel.backoff): BASE * 2**(attempts-1) seconds, capped, so an
# outage of minutes costs at most one retry per row per CAP once the broker is back. The SQL
# below picks each row's pause from this schedule by its attempt count.
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
BACKOFF_SCHEDULE = backoff.schedule(BACKOFF_BASE_S, BACKOFF_CAP_S)
# How long one batch waits for its delivery reports; above the producer's message.timeout.ms
# so every message gets its final report (delivered or timed out) inside the wait.
FLUSH_TIMEOUT_S = 15.0

# ``head``: no earlier row of the key is pending. Rows behind an earlier row that waits for
# its retry are not even claimed, so a stuck key never fills the batch. The sort carries only
# narrow columns (the payload is joined after the LIMIT): a third of the time at 20k pending.
_CLAIM = text(
    """
    WITH picked AS (
        SELECT o.id FROM outbox o
        WHERE o.published_at IS NULL AND o.available_at <= now()
          AND NOT EXISTS (SELECT 1 FROM outbox w WHERE w.published_at IS NULL AND w.topic = o.topic
                          AND w.key = o.key AND w.seq < o.seq AND w.available_at > now())
        ORDER BY o.created_at, o.seq
        LIMIT :limit
        FOR UPDATE OF o SKIP LOCKED
    )
    SELECT o.id, o.topic, o.key, o.seq, o.payload::text AS payload,
           NOT EXISTS (SELECT 1 FROM outbox e WHERE e.published_at IS NULL AND e.topic = o.topic
                       AND e.key = o.key AND e.seq < o.seq) AS head
    FROM picked JOIN outbox o USING (id)
    """
)
_MARK_PUBLISHED = text("UPDATE outbox SET published_at = now() WHERE id = ANY(:ids)")
_MARK_FAILED = text(
    """
    UPDATE outbox
    SET attempts = attempts + 1,
        last_error = :error,
        available_at = now() + make_interval(
            secs => (CAST(:pauses AS float8[]))[least(attempts + 1, cardinality(CAST(:pauses AS float8[])))])
    WHERE id = ANY(:ids)
    """
)

# Published rows are kept for a while (operators look at recent ones), then deleted oldest
# first, a bounded number per call: the outbox stays the size of its retention window
# instead of growing by every event ever written. ``outbox_sequences`` keeps each key's last
# ``seq``, so deleting rows never lets a sequence number be reused.
PURGE_LIMIT = 5000
_PURGE = text(
    """
    DELETE FROM outbox WHERE id IN (
        SELECT id FROM outbox
        WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => :keep)
        ORDER BY published_at
        LIMIT :limit
    )
    """
)


@dataclass
class BatchResult:
    """What one batch did."""

    claimed: int = 0  # rows the claim returned
    ready: int = 0  # of those, rows whose turn it was (per-key order)
    published: int = 0
    failed: int = 0
    errors: set[str] = field(default_factory=set)


def _by_key(rows: Iterable[Any]) -> dict[tuple[str, str], list[Any]]:
    by_key: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in rows:
        by_key[(row.topic, row.key)].append(row)
    return by_key


def in_key_order(rows: Iterable[Any]) -> list[Any]:
    """The claimed rows that may be produced now, each key's in ``seq`` order.

    Per ``(topic, key)``: nothing unless its lowest claimed row is the key's head (no earlier
    row pending), then the run of consecutive ``seq`` from it. The rest stays pending for a
    later batch (the claim's LIMIT or another relay's lock left a gap).
    """
    ready: list[Any] = []
    for key_rows in _by_key(rows).values():
        key_rows.sort(key=lambda r: r.seq)
        if not key_rows[0].head:
            continue
        run = key_rows[:1]
        for row in key_rows[1:]:
            if row.seq != run[-1].seq + 1:
                break
            run.append(row)
        ready.extend(run)
    return ready


def _rounds(rows: Sequence[Any], delivered: Callable[[Any], bool]) -> Iterator[list[Any]]:
    """Rows in rounds: each key's first row, then — for keys whose row was delivered — the next.

    A key never has two rows in flight, so a row refused by the broker (even for a reason
    that does not stop the rows behind it) cannot be overtaken; distinct keys share a round.
    """
    queues = [deque(key_rows) for key_rows in _by_key(rows).values()]
    current = [(q, q.popleft()) for q in queues]
    while current:
        yield [row for _q, row in current]
        current = [(q, q.popleft()) for q, row in current if q and delivered(row)]


def relay_batch(engine: Engine, producer: Producer, limit: int = BATCH_SIZE) -> BatchResult:
    """Relay up to ``limit`` pending rows in one transaction; returns the counts."""
    result = BatchResult()
    with engine.begin() as conn:
        claimed = conn.execute(_CLAIM, {"limit": limit}).all()
        rows: Sequence[Any] = in_key_order(claimed)
        result.claimed, result.ready = len(claimed), len(rows)
        if not rows:
            return result
        delivered: set[uuid.UUID] = set()
        failed: dict[uuid.UUID, str] = {}

        def report(row_id: uuid.UUID) -> Callable[[KafkaError | None, Message], None]:
            def on_delivery(err: KafkaError | None, msg: Message) -> None:
                if err is None:
                    delivered.add(row_id)
                else:
                    failed[row_id] = str(err)

            return on_delivery

        remaining = 0
        for round_rows in _rounds(rows, lambda row: row.id in delivered):
            for row in round_rows:
                try:
                    producer.produce(row.topic, key=row.key.encode(), value=row.payload.encode(),
                                     on_delivery=report(row.id))
                except (BufferError, KafkaException) as exc:  # local queue full or unknown topic
                    failed[row.id] = str(exc)
                producer.poll(0)  # serve reports early so the local queue drains while producing
            remaining = producer.flush(FLUSH_TIMEOUT_S)
            for row in round_rows:
                if row.id not in delivered and row.id not in failed:  # no report in time: retried later
                    failed[row.id] = f"no delivery report within {FLUSH_TIMEOUT_S:g}s ({remaining} in queue)"
        if delivered:
            conn.execute(_MARK_PUBLISHED, {"ids": list(delivered)})
        if failed:
            # one error text per batch is enough to diagnose; rows differ only in their id
            error = next(iter(failed.values()))[:500]
            conn.execute(_MARK_FAILED, {"ids": list(failed), "error": error, "pauses": list(BACKOFF_SCHEDULE)})
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
        if batch.claimed < limit or not batch.ready or time.monotonic() >= deadline:
            return published


def purge_published(engine: Engine, keep_seconds: float, limit: int = PURGE_LIMIT) -> int:
    """Delete up to ``limit`` rows published more than ``keep_seconds`` ago; returns how many.

    ``keep_seconds <= 0`` keeps everything. Pending rows are never touched.
    """
    if keep_seconds <= 0:
        return 0
    with engine.begin() as conn:
        return conn.execute(_PURGE, {"keep": float(keep_seconds), "limit": limit}).rowcount
