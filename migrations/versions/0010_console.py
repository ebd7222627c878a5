"""Console: traffic history (10-second rollups of the gateways' counters).

``traffic_rollup`` holds one row per 10-second bucket, route (a domain, or ``monolith`` for
paths outside every domain) and backend: requests, errors, p50/p99 in milliseconds and the
sparse latency histogram (``strangler.rollout_gates`` buckets) so longer windows can be
summed exactly. Written by the worker's beat task (``strangler.traffic_history.rollup``),
kept ``TRAFFIC_HISTORY_HOURS``. The primary key leads with the bucket: every read is a time range.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "traffic_rollup",
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("route", sa.String(40), nullable=False),
        sa.Column("backend", sa.String(16), nullable=False),
        sa.Column("ok", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("err", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("p50_ms", sa.Float(), nullable=True),
        sa.Column("p99_ms", sa.Float(), nullable=True),
        sa.Column("latency", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.PrimaryKeyConstraint("bucket", "route", "backend", name="pk_traffic_rollup"),
    )


def downgrade() -> None:
    op.drop_table("traffic_rollup")
