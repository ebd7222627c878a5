"""Payments tables: payments, subscriptions (legacy schema), provider checkouts and webhook events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, Numeric, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from domain_services.payments.plans import PLAN_TYPES
from kernel.db import Base

__all__ = ["PAYMENT_STATUSES", "PLAN_TYPES", "Payment", "PaymentCheckout", "ProviderEvent", "Subscription"]

PAYMENT_STATUSES = ("pending", "completed", "failed", "refunded")


class Payment(Base):
    """A payment by a user. ``user_id`` references ``users`` (enforced by the database only)."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_payments_amount"),
        CheckConstraint("status IN ('pending', 'completed', 'failed', 'refunded')", name="ck_payments_status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    status: Mapped[str] = mapped_column(String(20), server_default=text("'pending'"))
    payment_method: Mapped[str | None] = mapped_column(String(50))
    transaction_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    plan_type: Mapped[str | None] = mapped_column(String(20))


class Subscription(Base):
    """A paid period of one plan: each plan payment buys its own 30 days after what is already paid."""

    __tablename__ = "subscriptions"
    __table_args__ = (CheckConstraint("end_date >= start_date", name="ck_subscriptions_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    plan_type: Mapped[str] = mapped_column(String(20))
    start_date: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end_date: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    auto_renew: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # The plan payment that bought this period (None for periods granted by the payment side);
    # a refund of that payment takes the period back (``periods.py``).
    payment_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("payments.id", ondelete="SET NULL", name="fk_subscriptions_payment"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class PaymentCheckout(Base):
    """A checkout opened at the payment provider for a pending payment.

    ``reference`` is ours and written before the provider is called; the provider echoes it
    in its callbacks. ``provider_checkout_id`` is the provider's name for the same checkout.
    """

    __tablename__ = "payment_checkouts"

    reference: Mapped[str] = mapped_column(String(64), primary_key=True)
    payment_id: Mapped[int] = mapped_column(Integer, ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_checkout_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    # Set (under the payment's row lock) by the one refund request sent to the provider.
    refund_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProviderEvent(Base):
    """A provider webhook event already accepted; its id is never accepted again (replay)."""

    __tablename__ = "provider_events"

    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    event_type: Mapped[str] = mapped_column(String(64))
    payment_id: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
