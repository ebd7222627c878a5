"""Front door: user roles and token revocation, plan prices, payments start pending, payment provider callbacks.

* ``users.role`` (``user`` | ``editor`` | ``admin`` | ``service``, default ``user``) and
  ``users.disabled``: what a token may do, and whether its user may still log in.
* ``token_revocations``: per user, tokens issued before ``not_before`` are refused (the
  gateways LISTEN on ``token_revocations``; see ``kernel/revocations.py``).
  No foreign key: the row must outlive a deleted user.
* ``refresh_tokens``: each refresh token's ``jti``, so a refresh token works once (rotation).
* ``payments.status`` defaults to ``pending``: only the payment side completes a payment.
* ``payment_checkouts`` links a payment to the provider's checkout by our own ``reference``
  (written before the provider is called, so a fast callback always finds it); ``provider_events``
  remembers every accepted provider webhook event id, so a replayed callback is refused.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("role", sa.String(length=16), server_default="user", nullable=False))
    op.add_column("users", sa.Column("disabled", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.create_check_constraint("ck_users_role", "users", "role IN ('user', 'editor', 'admin', 'service')")
    op.create_table(
        "token_revocations",
        sa.Column("user_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("not_before", sa.Double(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("jti", sa.String(length=64), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"])
    op.create_index("ix_refresh_tokens_expires_at", "refresh_tokens", ["expires_at"])
    op.alter_column("payments", "status", server_default=sa.text("'pending'"))
    op.create_table(
        "payment_checkouts",
        sa.Column("reference", sa.String(length=64), primary_key=True),
        sa.Column("payment_id", sa.Integer(), sa.ForeignKey("payments.id", ondelete="CASCADE"), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("provider_checkout_id", sa.String(length=100), nullable=True, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.create_index("ix_payment_checkouts_payment_id", "payment_checkouts", ["payment_id"])
    op.create_table(
        "provider_events",
        sa.Column("event_id", sa.String(length=100), primary_key=True),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("provider_events")
    op.drop_index("ix_payment_checkouts_payment_id", table_name="payment_checkouts")
    op.drop_table("payment_checkouts")
    op.alter_column("payments", "status", server_default=sa.text("'completed'"))
    op.drop_index("ix_refresh_tokens_expires_at", table_name="refresh_tokens")
    op.drop_index("ix_refresh_tokens_user_id", table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_table("token_revocations")
    op.drop_constraint("ck_users_role", "users", type_="check")
    op.drop_column("users", "disabled")
    op.drop_column("users", "role")
