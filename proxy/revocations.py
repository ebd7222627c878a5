"""Revoked tokens, kept in memory per worker: loaded at start, pushed by ``NOTIFY``, re-read as a net.

The users service writes one ``token_revocations`` row per user (``not_before``, epoch seconds)
and notifies ``token_revocations`` in the same statement
(:mod:`kernel.revocations`). A token whose ``iat`` is before its user's
``not_before`` is refused. A :class:`~proxy.pgmirror.PgMirror`: the listener applies each payload
(``<user_id>:<not_before>``) to the map at once — no query on the hot path of a revocation —
and the reader re-reads the whole table at start, after every (re)connect and every
``PROXY_FLAG_REFRESH_MS`` as a safety net.

While PostgreSQL is unreachable the last map
stays in force and :meth:`RevocationCache.status` says ``stale``: revocations made meanwhile
reach this gateway when it reconnects (fail-open; access tokens are short-lived — see
docs/security.md). The hot path is one dict lookup (:meth:`RevocationCache.is_revoked`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from kernel import revocations
from kernel.settings import Settings
from proxy.pgmirror import PgMirror

log = logging.getLogger(__name__)


class RevocationCache(PgMirror):
    """``user_id → not_before`` of every revoked user, kept in sync with PostgreSQL."""

    name = "revocation"
    channel = revocations.CHANNEL
    query = revocations.SELECT_ALL

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings.database_url, settings.proxy_flag_refresh_ms)
        self.not_before: dict[int, float] = {}
        #: notifications applied while a reload runs: re-applied over its (older) snapshot
        self._during_reload: dict[int, float] | None = None

    def is_revoked(self, user_id: int, issued_at: float) -> bool:
        """Whether a token of ``user_id`` issued at ``issued_at`` has been revoked."""
        return revocations.is_revoked(self.not_before, user_id, issued_at)

    def apply(self, payload: str) -> None:
        """Apply one notification payload; a malformed one only wakes the reader."""
        try:
            user_id, not_before = revocations.parse_notification(payload)
        except ValueError:
            log.warning("malformed revocation notification %r; re-reading the table", payload)
            self._wake.set()
            return
        self._raise(self.not_before, user_id, not_before)
        if self._during_reload is not None:
            self._raise(self._during_reload, user_id, not_before)

    notified = apply

    @staticmethod
    def _raise(target: dict[int, float], user_id: int, not_before: float) -> None:
        # not_before never moves backwards (as in the table), whatever the arrival order
        if not_before > target.get(user_id, float("-inf")):
            target[user_id] = not_before

    async def reload(self) -> None:
        """Re-read every row and swap the map; on failure keep the last map."""
        self._during_reload = {}
        try:
            await super().reload()
        finally:
            self._during_reload = None

    def swap(self, rows: list[tuple]) -> None:
        """The table's rows, raised by any notification that arrived during the read."""
        fresh = {int(user_id): float(not_before) for user_id, not_before in rows}
        for user_id, not_before in (self._during_reload or {}).items():
            self._raise(fresh, user_id, not_before)
        self.not_before = fresh

    def status(self) -> dict[str, Any]:
        """Health data: how many users are revoked, freshness, listener state."""
        now = time.time()
        return {
            "revoked_users": len(self.not_before),
            "source": "live" if self.is_live(now) else "stale",
            "listener": "connected" if self.listener_connected else "disconnected",
            "last_load_age_s": self.last_load_age(now),
            "last_error": self.last_error,
        }
