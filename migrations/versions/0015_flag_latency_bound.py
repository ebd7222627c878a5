"""Flags: a per-domain latency rollback bound.

``migration_flags.rollback_p99_percent``: roll the domain back when its service's p99
exceeds this percentage of the monolith's (0: the gateway's ``PROXY_ROLLBACK_P99_PERCENT``).

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("migration_flags", sa.Column("rollback_p99_percent", sa.Integer(), nullable=False,
                                               server_default="0"))
    op.create_check_constraint("ck_flag_rollback_p99_percent", "migration_flags",
                               "rollback_p99_percent BETWEEN 0 AND 10000")


def downgrade() -> None:
    op.drop_constraint("ck_flag_rollback_p99_percent", "migration_flags", type_="check")
    op.drop_column("migration_flags", "rollback_p99_percent")
