"""The console's own table: operator accounts (not the API's users)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from kernel.db import Base

#: Console roles, most powerful first (``control_plane.roles`` says what each may do).
OPERATOR_ROLES = ("admin", "ops", "editor", "viewer")


class Operator(Base):
    """A console account."""

    __tablename__ = "operators"
    __table_args__ = (CheckConstraint("role IN ('admin', 'ops', 'editor', 'viewer')", name="ck_operator_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
