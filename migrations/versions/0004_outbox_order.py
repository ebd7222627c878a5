"""Event pipeline: per-aggregate sequence on outbox rows for ordered relay.

Every outbox row gets ``seq``: 1, 2, 3 ... per ``(topic, key)`` in commit order, allocated
from ``outbox_sequences`` inside the writing transaction (gapless: a rollback undoes both).
The relay publishes a row only after every earlier row of its key; the partial index serves
that check. Existing rows are numbered in ``created_at`` order.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_sequences",
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("topic", "key"),
    )
    op.add_column("outbox", sa.Column("seq", sa.BigInteger(), nullable=True))
    op.execute(
        """
        UPDATE outbox o SET seq = r.n
        FROM (SELECT id, row_number() OVER (PARTITION BY topic, key ORDER BY created_at, id) AS n FROM outbox) r
        WHERE o.id = r.id
        """
    )
    op.execute("INSERT INTO outbox_sequences (topic, key, seq) SELECT topic, key, max(seq) FROM outbox GROUP BY 1, 2")
    op.alter_column("outbox", "seq", nullable=False)
    op.create_index("ix_outbox_pending_key", "outbox", ["topic", "key", "seq"],
                    postgresql_where=sa.text("published_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_outbox_pending_key", table_name="outbox", postgresql_where=sa.text("published_at IS NULL"))
    op.drop_column("outbox", "seq")
    op.drop_table("outbox_sequences")
