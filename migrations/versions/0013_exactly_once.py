"""Exactly-once writes: the key of every non-idempotent request and its answer.

(Reserved revision: no schema change yet.)

Revision ID: 0013
Revises: 0012
"""

from alembic import op  # noqa: F401

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
