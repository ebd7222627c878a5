"""Zero-failure cut-over: rollout plans per domain and consecutive-failure thresholds on flags.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Consecutive connect failures / 5xx from the service that roll a domain back at once.
    op.add_column("migration_flags", sa.Column("rollback_consecutive", sa.Integer(), nullable=False,
                                               server_default="5"))
    op.create_check_constraint("ck_flag_rollback_consecutive", "migration_flags", "rollback_consecutive >= 1")
    # One plan per domain; a new plan replaces a finished one (the audit log keeps the history).
    op.create_table(
        "rollout_plans",
        sa.Column("domain", sa.String(32), primary_key=True),
        sa.Column("steps", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("hold_seconds", sa.Integer(), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("state", sa.String(16), nullable=False, server_default="running"),
        sa.Column("gates", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("step_started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_decision", sa.Text()),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("state IN ('running', 'paused', 'completed', 'rolled_back', 'aborted')",
                           name="ck_rollout_state"),
        sa.CheckConstraint("hold_seconds >= 1", name="ck_rollout_hold"),
        sa.CheckConstraint("step_index >= 0 AND step_index < cardinality(steps)", name="ck_rollout_step_index"),
    )


def downgrade() -> None:
    op.drop_table("rollout_plans")
    op.drop_constraint("ck_flag_rollback_consecutive", "migration_flags", type_="check")
    op.drop_column("migration_flags", "rollback_consecutive")
