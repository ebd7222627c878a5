"""Outbox backlog figures for operators (console dashboard, worker log, ``cinemaabyss outbox status``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from kernel.db import get_engine

# One round trip; the pending part reads only the partial index of pending rows.
_STATS = text(
    """
    SELECT
      (SELECT count(*) FROM outbox WHERE published_at IS NULL) AS pending,
      (SELECT extract(epoch FROM now() - min(created_at)) FROM outbox WHERE published_at IS NULL) AS oldest,
      (SELECT count(*) FROM outbox WHERE published_at >= now() - interval '1 minute') AS last_minute
    """
)


def outbox_stats(url: str | None = None) -> dict[str, Any]:
    """``{"pending", "oldest_pending_age_seconds" (None when nothing is pending), "published_last_minute"}``."""
    with get_engine(url).connect() as conn:
        pending, oldest, last_minute = conn.execute(_STATS).one()
    return {
        "pending": int(pending),
        "oldest_pending_age_seconds": None if oldest is None else float(oldest),
        "published_last_minute": int(last_minute),
    }
