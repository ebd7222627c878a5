"""Payments that always settle: periods know their payment, refunds are requested once.

* ``subscriptions.payment_id`` links a paid period to the plan payment that bought it, so a
  refund takes exactly that period back (unique: one period per payment).
* ``payment_checkouts.refund_requested_at`` marks the one refund request sent to the
  provider; concurrent refund calls see it and send nothing.
* ``ix_payment_checkouts_created_at`` serves reconciliation's "checked out longer than N
  minutes ago" scan.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("subscriptions", sa.Column("payment_id", sa.Integer(), nullable=True))
    op.create_unique_constraint("uq_subscriptions_payment_id", "subscriptions", ["payment_id"])
    op.create_foreign_key("fk_subscriptions_payment", "subscriptions", "payments", ["payment_id"], ["id"],
                          ondelete="SET NULL")
    op.add_column("payment_checkouts", sa.Column("refund_requested_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_payment_checkouts_created_at", "payment_checkouts", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_payment_checkouts_created_at", table_name="payment_checkouts")
    op.drop_column("payment_checkouts", "refund_requested_at")
    op.drop_constraint("fk_subscriptions_payment", "subscriptions", type_="foreignkey")
    op.drop_constraint("uq_subscriptions_payment_id", "subscriptions", type_="unique")
    op.drop_column("subscriptions", "payment_id")
