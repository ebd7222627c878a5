"""The outbox writer: a domain write adds its event row inside the same transaction.

Each row carries a per-aggregate sequence: ``1, 2, 3 ...`` per ``(topic, key)``, taken from
``outbox_sequences`` in the same transaction. The counter row stays locked until the commit,
so two writers of one aggregate get their numbers in commit order, and a rollback returns
the number (no gaps). The relay uses it to keep each key's order; the envelope carries it as
``sequence`` so a consumer can drop an update older than one it already applied.

After the transaction commits, registered *nudges* run (the worker installs one that wakes
the Celery relay task). The beat sweep is the safety net, so a lost nudge delays an event by
at most the sweep interval and never loses it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from kernel.db import UnitOfWork
from kernel.envelope import make_envelope
from kernel.event_types import lookup
from kernel.models import OutboxEvent

_nudges: list[Callable[[], None]] = []

_NEXT_SEQUENCE = text(
    "INSERT INTO outbox_sequences (topic, key, seq) VALUES (:topic, :key, 1) "
    "ON CONFLICT (topic, key) DO UPDATE SET seq = outbox_sequences.seq + 1 RETURNING seq"
)


def register_nudge(nudge: Callable[[], None]) -> None:
    """Install a callable run after every commit that wrote outbox rows (idempotent)."""
    if nudge not in _nudges:
        _nudges.append(nudge)


def add_event(uow: UnitOfWork, name: str, key: object, payload: dict[str, Any], source: str) -> dict[str, Any]:
    """Write event ``name`` (see ``event_types``) about aggregate ``key`` into the outbox.

    Returns the envelope. Nothing leaves the process until the transaction commits.
    """
    event_type = lookup(name)
    seq = uow.session.execute(_NEXT_SEQUENCE, {"topic": event_type.topic, "key": str(key)}).scalar_one()
    envelope = make_envelope(event_type.type, event_type.action, payload, source, sequence=seq)
    uow.session.add(
        OutboxEvent(
            id=uuid.UUID(envelope["id"]),
            topic=event_type.topic,
            key=str(key),
            seq=seq,
            event_type=name,
            payload=envelope,
        )
    )
    for nudge in _nudges:
        uow.after_commit(nudge)
    return envelope
