"""One place per fact: drop dead schema (the unused views table).

``views`` was created by 0001 for a viewing history that no model, service, API or test
ever wrote or read. Downgrade recreates it exactly as 0001 did (empty).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("views")


def downgrade() -> None:
    op.create_table(
        "views",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("movie_id", sa.Integer(), sa.ForeignKey("movies.id", ondelete="CASCADE"), nullable=False),
        sa.Column("viewed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
    )
