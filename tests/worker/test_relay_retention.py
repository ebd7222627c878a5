"""Outbox retention: published rows older than the window go, everything else stays.

Without it the outbox grows by every event ever written; the relay deletes old published rows
a bounded number at a time. Real PostgreSQL, rows of a topic of this test's own.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text

from kernel.db import get_engine
from worker.relay import purge_published

_ROW = text(
    """
    INSERT INTO outbox (id, topic, key, seq, event_type, payload, created_at, published_at)
    VALUES (gen_random_uuid(), :topic, :key, :seq, 'movie.created', '{}',
            now() - make_interval(hours => :age), now() - make_interval(hours => :published_age))
    """
)


def _rows(topic: str) -> list[tuple[str, int]]:
    with get_engine().connect() as conn:
        return sorted(conn.execute(text("SELECT key, seq FROM outbox WHERE topic = :t"), {"t": topic}).all())


def _add(topic: str, key: str, seq: int, age_h: float, published_age_h: float | None) -> None:
    with get_engine().begin() as conn:
        conn.execute(_ROW, {"topic": topic, "key": key, "seq": seq, "age": age_h, "published_age": published_age_h})


def test_old_published_rows_are_deleted_pending_and_recent_ones_kept(db_url):
    topic = f"test-retention-{uuid.uuid4().hex[:8]}"
    for seq in range(1, 4):
        _add(topic, "old", seq, age_h=200, published_age_h=199)  # published long ago: goes
    _add(topic, "recent", 1, age_h=200, published_age_h=1)  # published an hour ago: stays
    _add(topic, "pending", 1, age_h=500, published_age_h=None)  # never published: stays, however old

    assert purge_published(get_engine(), keep_seconds=0) == 0  # 0 keeps everything
    assert len(_rows(topic)) == 5

    deleted = 0
    while (step := purge_published(get_engine(), keep_seconds=168 * 3600, limit=2)) > 0:
        assert step <= 2  # bounded per call
        deleted += step
    assert deleted >= 3  # this test's three (plus any other old ones of the shared test database)
    assert _rows(topic) == [("pending", 1), ("recent", 1)]
