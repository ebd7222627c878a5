"""A failed outbox row waits its turn from the one back-off schedule (real PostgreSQL, no broker)."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from kernel.db import get_engine, unit_of_work
from kernel.outbox import add_event
from worker import relay


class RefusingProducer:
    """Every ``produce`` fails locally, as with a full queue: no broker is reached."""

    def produce(self, topic, key, value, on_delivery):
        raise BufferError("injected: local queue full")

    def poll(self, timeout):
        return 0

    def flush(self, timeout):
        return 0


def test_a_failed_row_waits_the_pause_its_attempt_count_picks(db_url):
    engine = get_engine()
    with engine.begin() as conn:  # only this test's rows are pending
        conn.execute(text("UPDATE outbox SET published_at = now() WHERE published_at IS NULL"))
    earlier_failures = {0: 0.5, 2: 2.0, 20: relay.BACKOFF_CAP_S}  # failures so far → next pause
    ids = {}
    for failures in earlier_failures:
        with unit_of_work() as uow:
            row_id = add_event(uow, "movie.updated", f"backoff-{uuid.uuid4().hex[:8]}", {}, "test")["id"]
        ids[failures] = row_id
        with engine.begin() as conn:
            conn.execute(text("UPDATE outbox SET attempts = :n WHERE id = :id"), {"n": failures, "id": row_id})

    assert relay.relay_batch(engine, RefusingProducer()).failed == len(ids)

    with engine.connect() as conn:
        rows = {str(r.id): r for r in conn.execute(text(
            "SELECT id, attempts, extract(epoch FROM available_at - now())::float8 AS wait FROM outbox "
            "WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": list(ids.values())})}
    for failures, pause in earlier_failures.items():
        row = rows[ids[failures]]
        assert row.attempts == failures + 1
        assert pause - 1.0 < row.wait <= pause, (failures, row.wait)
