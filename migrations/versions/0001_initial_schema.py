"""Initial schema: the legacy tables plus flags, audit, outbox, consumer idempotency, operators.

Cross-domain references (payments/subscriptions/ratings → users) are foreign keys in the
database but not in the ORM models, so each domain package stays importable on its own.

Revision ID: 0001
Revises:
Create Date: 2026-11-24 11:28:50.688714
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flag_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=64), server_default="flag.changed", nullable=False),
        sa.Column("domain", sa.String(length=32), nullable=True),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_flag_audit_at", "flag_audit", ["at"], unique=False)
    op.create_index("ix_flag_audit_domain_at", "flag_audit", ["domain", "at"], unique=False)
    op.create_table(
        "migration_flags",
        sa.Column("domain", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=16), server_default="monolith", nullable=False),
        sa.Column("percent", sa.Integer(), server_default="0", nullable=False),
        sa.Column("sticky_key", sa.String(length=16), server_default="user", nullable=False),
        sa.Column("fallback", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("auto_rollback", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("rollback_error_rate", sa.Double(), server_default=sa.text("0.5"), nullable=False),
        sa.Column("rollback_min_requests", sa.Integer(), server_default="20", nullable=False),
        sa.Column("shadow_percent", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_by", sa.String(length=100), server_default="system", nullable=False),
        sa.CheckConstraint("mode IN ('monolith', 'gradual', 'service')", name="ck_flag_mode"),
        sa.CheckConstraint("percent BETWEEN 0 AND 100", name="ck_flag_percent"),
        sa.CheckConstraint("rollback_error_rate > 0 AND rollback_error_rate <= 1", name="ck_flag_rollback_rate"),
        sa.PrimaryKeyConstraint("domain"),
    )
    op.create_table(
        "movies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("rating", sa.Numeric(precision=3, scale=1), nullable=True),
        sa.Column("release_date", sa.Date(), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("poster_url", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("rating >= 0 AND rating <= 10", name="ck_movies_rating"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_movies_title"), "movies", ["title"], unique=False)
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('admin', 'ops', 'editor', 'viewer')", name="ck_operator_role"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["available_at"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'completed'"), nullable=False),
        sa.Column("payment_method", sa.String(length=50), nullable=True),
        sa.Column("transaction_id", sa.String(length=100), nullable=True),
        sa.Column("plan_type", sa.String(length=20), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'completed', 'failed', 'refunded')", name="ck_payments_status"),
        sa.CheckConstraint("amount > 0", name="ck_payments_amount"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("transaction_id"),
    )
    op.create_index(op.f("ix_payments_user_id"), "payments", ["user_id"], unique=False)
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("plan_type", sa.String(length=20), nullable=False),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("auto_renew", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("end_date >= start_date", name="ck_subscriptions_period"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_subscriptions_user_id"), "subscriptions", ["user_id"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "movie_genres",
        sa.Column("movie_id", sa.Integer(), nullable=False),
        sa.Column("genre", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(["movie_id"], ["movies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("movie_id", "genre"),
    )
    op.create_index(op.f("ix_movie_genres_genre"), "movie_genres", ["genre"], unique=False)
    op.create_table(
        "user_ratings",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("movie_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("review", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("rating >= 1 AND rating <= 10", name="ck_user_ratings_rating"),
        sa.ForeignKeyConstraint(["movie_id"], ["movies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "movie_id"),
    )

    op.create_foreign_key("fk_payments_user", "payments", "users", ["user_id"], ["id"])
    op.create_foreign_key("fk_subscriptions_user", "subscriptions", "users", ["user_id"], ["id"])
    op.create_foreign_key("fk_user_ratings_user", "user_ratings", "users", ["user_id"], ["id"], ondelete="CASCADE")
    op.create_table(
        "views",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("movie_id", sa.Integer(), sa.ForeignKey("movies.id", ondelete="CASCADE"), nullable=False),
        sa.Column("viewed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
    )
    # Substring search over titles stays fast at 100k+ movies (console search, ?search=).
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX ix_movies_title_trgm ON movies USING gin (title gin_trgm_ops)")


def downgrade() -> None:
    op.drop_table("views")
    op.execute("DROP INDEX IF EXISTS ix_movies_title_trgm")
    for name, table in (
        ("fk_payments_user", "payments"),
        ("fk_subscriptions_user", "subscriptions"),
        ("fk_user_ratings_user", "user_ratings"),
    ):
        op.drop_constraint(name, table, type_="foreignkey")
    op.drop_table("user_ratings")
    op.drop_index(op.f("ix_movie_genres_genre"), table_name="movie_genres")
    op.drop_table("movie_genres")
    op.drop_table("users")
    op.drop_index(op.f("ix_subscriptions_user_id"), table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_table("processed_events")
    op.drop_index(op.f("ix_payments_user_id"), table_name="payments")
    op.drop_table("payments")
    op.drop_index("ix_outbox_pending", table_name="outbox", postgresql_where=sa.text("published_at IS NULL"))
    op.drop_table("outbox")
    op.drop_table("operators")
    op.drop_index(op.f("ix_movies_title"), table_name="movies")
    op.drop_table("movies")
    op.drop_table("migration_flags")
    op.drop_index("ix_flag_audit_domain_at", table_name="flag_audit")
    op.drop_index("ix_flag_audit_at", table_name="flag_audit")
    op.drop_table("flag_audit")
