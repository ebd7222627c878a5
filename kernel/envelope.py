"""The one event envelope used by the outbox and the events API (docs/architecture.md §5)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the domain uses."""
    return datetime.now(UTC)


def make_envelope(
    event_type: str,
    action: str,
    payload: dict[str, Any],
    source: str,
    *,
    event_id: str | None = None,
    timestamp: datetime | None = None,
    sequence: int | None = None,
) -> dict[str, Any]:
    """Build ``{id, type, action, timestamp, source, payload}`` (+ ``sequence`` when given).

    ``event_type`` is the aggregate kind (``movie``, ``user``, ``payment``, ``subscription``),
    ``action`` what happened to it (``created``, ``rated`` ...). ``sequence`` numbers the
    events of one aggregate (outbox events: 1, 2, 3 ... per topic and key, in commit order).
    """
    envelope: dict[str, Any] = {
        "id": event_id or str(uuid.uuid4()),
        "type": event_type,
        "action": action,
        "timestamp": (timestamp or utcnow()).isoformat(),
        "source": source,
        "payload": payload,
    }
    if sequence is not None:
        envelope["sequence"] = sequence
    return envelope

