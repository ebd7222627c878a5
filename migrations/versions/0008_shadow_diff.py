"""Shadow diff: per-domain ignore rules and a bounded store of sampled mismatches.

``shadow_rules`` is read by every gateway (``NOTIFY shadow_rules`` on change); rule changes
are audited in ``flag_audit``. ``shadow_samples`` holds at most a configured number of rows
per domain (the gateway prunes the oldest after each insert); the ``(domain, id)`` index
serves both the prune and the console's newest-first listing.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shadow_rules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("domain", sa.String(32), nullable=False),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("mode", sa.String(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.CheckConstraint("mode IN ('ignore', 'order_insensitive')", name="ck_shadow_rule_mode"),
    )
    op.create_index("uq_shadow_rule_path", "shadow_rules", ["domain", "path"], unique=True)
    op.create_table(
        "shadow_samples",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("domain", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("primary_backend", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("differences", postgresql.JSONB(), nullable=False),
        sa.Column("monolith_status", sa.Integer(), nullable=False),
        sa.Column("service_status", sa.Integer(), nullable=False),
        sa.Column("monolith_body", sa.Text(), nullable=False),
        sa.Column("service_body", sa.Text(), nullable=False),
        sa.Column("truncated", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_index("ix_shadow_samples_domain_id", "shadow_samples", ["domain", "id"])


def downgrade() -> None:
    op.drop_index("ix_shadow_samples_domain_id", table_name="shadow_samples")
    op.drop_table("shadow_samples")
    op.drop_index("uq_shadow_rule_path", table_name="shadow_rules")
    op.drop_table("shadow_rules")
