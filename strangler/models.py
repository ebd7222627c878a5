"""The strangler control's tables: routing flags, shadow-compare ignore rules and mismatch samples."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import Base


class MigrationFlag(Base):
    """Routing flag of one domain: where the proxy sends its traffic."""

    __tablename__ = "migration_flags"
    __table_args__ = (
        CheckConstraint("mode IN ('monolith', 'gradual', 'service')", name="ck_flag_mode"),
        CheckConstraint("percent BETWEEN 0 AND 100", name="ck_flag_percent"),
        CheckConstraint("rollback_error_rate > 0 AND rollback_error_rate <= 1", name="ck_flag_rollback_rate"),
    )

    domain: Mapped[str] = mapped_column(String(32), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16), server_default="monolith")
    percent: Mapped[int] = mapped_column(Integer, server_default="0")
    # user | header | client | none (random per request)
    sticky_key: Mapped[str] = mapped_column(String(16), server_default="user")
    fallback: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    auto_rollback: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    rollback_error_rate: Mapped[float] = mapped_column(server_default=text("0.5"))
    rollback_min_requests: Mapped[int] = mapped_column(Integer, server_default="20")
    shadow_percent: Mapped[int] = mapped_column(Integer, server_default="0")
    # consecutive service failures that roll back at once (migration 0003)
    rollback_consecutive: Mapped[int] = mapped_column(Integer, server_default="5")
    # service p99 over this % of the monolith's rolls back; 0: the gateway's setting (migration 0015)
    rollback_p99_percent: Mapped[int] = mapped_column(Integer, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by: Mapped[str] = mapped_column(String(100), server_default="system")


class ShadowRule(Base):
    """A shadow-compare ignore rule of one domain: a JSON path left out or compared without order."""

    __tablename__ = "shadow_rules"
    __table_args__ = (
        CheckConstraint("mode IN ('ignore', 'order_insensitive')", name="ck_shadow_rule_mode"),
        Index("uq_shadow_rule_path", "domain", "path", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(300))
    mode: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(100))


class ShadowSample(Base):
    """One sampled shadow mismatch: both answers (truncated) and the classified differences."""

    __tablename__ = "shadow_samples"
    __table_args__ = (Index("ix_shadow_samples_domain_id", "domain", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    domain: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    target: Mapped[str] = mapped_column(Text)  # path and query of the mirrored GET
    primary_backend: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))  # the most serious kind present
    #: ``[{"path", "kind", "monolith", "service"}, ...]``
    differences: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    monolith_status: Mapped[int] = mapped_column(Integer)
    service_status: Mapped[int] = mapped_column(Integer)
    monolith_body: Mapped[str] = mapped_column(Text)
    service_body: Mapped[str] = mapped_column(Text)
    truncated: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
