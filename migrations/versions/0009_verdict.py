"""Migration verdict: the judge's last verdicts on a plan, and outgoing notification webhooks.

``rollout_plans.judgement`` holds what the runner judged on its last tick (every gate's
verdict with its numbers, the action, and what a dry-run gate would have done); audit rows of
plan moves carry the same object, so a plan's step timeline is its audit rows.

``webhook_endpoints`` are configured in the console (admin). ``webhook_deliveries`` is one row
per (endpoint, notification), retried with backoff by the worker; ``notify_cursors`` keeps how
far the notifier has read the audit log and the dead-letter counts it last saw.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rollout_plans", sa.Column("judgement", postgresql.JSONB(), nullable=True))
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("format", sa.String(16), nullable=False, server_default="generic"),
        sa.Column("secret", sa.Text(), nullable=False),
        # empty = every kind of notification
        sa.Column("events", postgresql.ARRAY(sa.String(32)), nullable=False, server_default="{}"),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("format IN ('generic', 'slack', 'teams')", name="ck_webhook_format"),
    )
    op.create_index("uq_webhook_name", "webhook_endpoints", ["name"], unique=True)
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("endpoint_id", sa.Integer(), sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('pending', 'delivered', 'failed')", name="ck_webhook_delivery_state"),
    )
    op.create_index("ix_webhook_deliveries_endpoint_id", "webhook_deliveries", ["endpoint_id", "id"])
    op.create_table(
        "notify_cursors",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("state", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("notify_cursors")
    op.drop_index("ix_webhook_deliveries_endpoint_id", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("uq_webhook_name", table_name="webhook_endpoints")
    op.drop_table("webhook_endpoints")
    op.drop_column("rollout_plans", "judgement")
