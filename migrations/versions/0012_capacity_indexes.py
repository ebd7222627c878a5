"""Capacity: indexes for a large backlog and large tables.

* ``ix_outbox_pending_order`` (``created_at, seq`` of pending rows): the relay claims the
  oldest pending rows in that order; without it every batch sorted the whole backlog
  (2.4 s per 500-row batch at a million pending rows, 19 ms with it).
* ``ix_outbox_published_at`` (published rows): the backlog figures count the rows published
  in the last minute, which scanned every row ever relayed.
* ``ix_movies_rating``: the console sorts and filters the catalogue by rating.
* ``ix_flag_audit_actor_at``: login throttling counts one operator's recent failed sign-ins
  (``actor = ... AND at > ...``) on every attempt, over millions of audit rows.
* ``ix_flag_audit_action_at``: the audit page's action filter, newest first, and its list of
  actions (a loose index scan: one probe per distinct action instead of reading every row).

Built ``CONCURRENTLY`` so a busy outbox or audit table keeps taking writes meanwhile.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# (name, table, columns, partial-index predicate)
INDEXES = (
    ("ix_outbox_pending_order", "outbox", ["created_at", "seq"], "published_at IS NULL"),
    ("ix_outbox_published_at", "outbox", ["published_at"], "published_at IS NOT NULL"),
    ("ix_movies_rating", "movies", ["rating"], None),
    ("ix_flag_audit_actor_at", "flag_audit", ["actor", "at"], None),
    ("ix_flag_audit_action_at", "flag_audit", ["action", "at"], None),
)


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for name, table, columns, where in INDEXES:
            op.create_index(name, table, columns, postgresql_concurrently=True, if_not_exists=True,
                            postgresql_where=sa.text(where) if where else None)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name, table, _columns, _where in reversed(INDEXES):
            op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
