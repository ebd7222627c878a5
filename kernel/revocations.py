"""Token revocation protocol: one row per user, ``not_before``, pushed with ``NOTIFY``.

A user's tokens issued before ``token_revocations.not_before`` (epoch seconds, a float like
the tokens' ``iat``) are refused. Logout, ``POST /api/auth/revoke`` and deleting or
disabling a user upsert the row and ``NOTIFY token_revocations, '<user_id>:<not_before>'``
in one statement, so the notification leaves exactly when the row commits. Gateways load
every row at start, apply notifications as they arrive and re-read the table periodically
in case one was missed.

The SQL uses the psycopg parameter style (``%(name)s``) so the gateway runs it on a plain
psycopg connection and the users service through SQLAlchemy's ``exec_driver_sql``; this
module imports neither.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

CHANNEL = "token_revocations"

#: Every revocation, ``(user_id, not_before)``.
SELECT_ALL = "SELECT user_id, not_before FROM token_revocations"
#: One user's cut-off (the users service checks it for ``/api/users/me`` and refresh).
SELECT_ONE = "SELECT not_before FROM token_revocations WHERE user_id = %(user_id)s"

#: Upsert a user's row and notify in one statement; ``not_before`` never moves backwards, so
#: two revocations racing each other both stay in force. Returns the stored ``not_before``.
REVOKE = (
    "WITH stored AS ("
    " INSERT INTO token_revocations (user_id, not_before, reason, updated_at)"
    " VALUES (%(user_id)s, %(not_before)s, %(reason)s, now())"
    " ON CONFLICT (user_id) DO UPDATE SET"
    " not_before = GREATEST(token_revocations.not_before, EXCLUDED.not_before),"
    " reason = EXCLUDED.reason, updated_at = now()"
    " RETURNING user_id, not_before)"
    " SELECT not_before, pg_notify(%(channel)s, user_id::text || ':' || not_before::text) FROM stored"
)


def revoke_params(user_id: int, reason: str, *, now: float | None = None) -> dict[str, Any]:
    """Bind parameters of :data:`REVOKE`: refuse ``user_id``'s tokens issued before ``now``."""
    return {
        "user_id": user_id,
        "not_before": time.time() if now is None else now,
        "reason": reason,
        "channel": CHANNEL,
    }


def parse_notification(payload: str) -> tuple[int, float]:
    """``(user_id, not_before)`` from a ``NOTIFY`` payload; ``ValueError`` if malformed."""
    user_id, sep, not_before = payload.partition(":")
    if not sep:
        raise ValueError(f"malformed revocation notification {payload!r}")
    return int(user_id), float(not_before)


def is_revoked(not_before: Mapping[int, float], user_id: int, issued_at: float) -> bool:
    """Whether a token of ``user_id`` issued at ``issued_at`` predates the user's revocation."""
    cutoff = not_before.get(user_id)
    return cutoff is not None and issued_at < cutoff
