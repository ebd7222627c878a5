"""Tables every domain writes: the outbox, consumer and request idempotency, the audit trail.

Domain tables live in their domain package (``movies/models.py`` ...), the strangler's flags
and shadow tables in ``strangler/models.py``, the console's accounts in
``control_plane/models.py``. Every model derives
from :class:`~kernel.db.Base`, so Alembic sees one metadata
(``cinemaabyss.schema.load_all_models``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import Base


class OutboxEvent(Base):
    """A domain event waiting to be relayed to Kafka (written in the domain transaction)."""

    __tablename__ = "outbox"
    __table_args__ = (
        # The relay scans only pending rows, oldest first; a partial index keeps that cheap
        # however many published rows accumulate.
        Index("ix_outbox_pending", "available_at", postgresql_where=text("published_at IS NULL")),
        # The relay's per-key order check: is an earlier row of this key still pending?
        Index("ix_outbox_pending_key", "topic", "key", "seq", postgresql_where=text("published_at IS NULL")),
        # The relay's claim order: the oldest pending rows come off the index instead of a sort
        # of the whole backlog.
        Index("ix_outbox_pending_order", "created_at", "seq", postgresql_where=text("published_at IS NULL")),
        # The backlog figures' "published in the last minute" without reading every relayed row.
        Index("ix_outbox_published_at", "published_at", postgresql_where=text("published_at IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    topic: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(200))
    #: 1, 2, 3 ... per (topic, key) in commit order (``outbox_sequences``); also the envelope's ``sequence``.
    seq: Mapped[int] = mapped_column(BigInteger)
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    available_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)


class RequestKey(Base):
    """A non-idempotent request's key and its answer, written in the request's own transaction.

    Shared by the monolith and every service (one database), so a write sent to the monolith
    after its service died mid-request finds the service's committed answer, or waits on this
    row's unique key until the dead transaction is rolled back (:mod:`kernel.exactly_once`).
    """

    __tablename__ = "request_keys"
    __table_args__ = (Index("ix_request_keys_created_at", "created_at"),)  # the daily purge

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    #: method, path and body digest: the same key for another request is refused (422)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(200))
    location: Mapped[str | None] = mapped_column(Text)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ProcessedEvent(Base):
    """Consumer idempotency: (consumer, event id) seen once."""

    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FlagAudit(Base):
    """Every flag change and other audited action: who, when, before, after, why."""

    __tablename__ = "flag_audit"
    # Newest first by domain or action (the audit page), one operator's recent rows (login throttling).
    __table_args__ = (Index("ix_flag_audit_at", "at"), Index("ix_flag_audit_domain_at", "domain", "at"),
                      Index("ix_flag_audit_actor_at", "actor", "at"), Index("ix_flag_audit_action_at", "action", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(String(100))
    # flag.changed | flag.auto_rollback | operator.login | operator.login_failed | operator.changed ...
    action: Mapped[str] = mapped_column(String(64), server_default="flag.changed")
    domain: Mapped[str | None] = mapped_column(String(32))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(Text)
