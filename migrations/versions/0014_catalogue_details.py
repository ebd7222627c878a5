"""Catalogue details: indexes for the movie list's release date and the audit operator search.

* ``ix_movies_release_date``: the console's movie list shows, sorts and filters by release
  date (the column is the legacy schema's, now edited through the domain); without it a sort
  by date sorted every movie.
* ``ix_flag_audit_actor_trgm`` (``gin_trgm_ops`` on ``actor``): the audit page finds
  operators by a part of their name (``actor ILIKE '%…%'``), which no B-tree serves. While
  matches are common the newest-first scan stops after a page; a name that matches nothing
  read the whole trail (14 s at 10M rows). With the trigram index PostgreSQL looks the name's
  trigrams up first. Declared here only, like ``ix_movies_title_trgm`` (0001): the ORM models
  cannot express an operator class portably, and nothing builds the schema from them.

``pg_trgm`` is a trusted extension (PostgreSQL 13+), so the database owner may create it
without superuser rights; 0001 already created it for the title search.

The movie columns (``release_date``, ``duration`` in minutes, ``poster_url``) exist since the
legacy schema (0001). No CHECK constraint is added: legacy rows were never checked, and a
constraint would fail this migration or refuse edits of their other fields; the movies
domain validates every value it writes (``domain_services/movies/services.py``).

Built ``CONCURRENTLY`` so a busy audit table keeps taking writes meanwhile.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    with op.get_context().autocommit_block():
        op.create_index("ix_movies_release_date", "movies", ["release_date"], postgresql_concurrently=True,
                        if_not_exists=True)
        op.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_flag_audit_actor_trgm "
                   "ON flag_audit USING gin (actor gin_trgm_ops)")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_flag_audit_actor_trgm")
        op.drop_index("ix_movies_release_date", table_name="movies", postgresql_concurrently=True, if_exists=True)
