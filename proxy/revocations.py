"""Revoked tokens, kept in memory per worker: loaded at start, pushed by ``NOTIFY``, re-read as a net.

The users service writes one ``token_revocations`` row per user (``not_before``, epoch seconds)
and notifies ``token_revocations`` in the same statement
(:mod:`domain_services.shared.revocations`). A token whose ``iat`` is before its user's
``not_before`` is refused. The structure copies :mod:`proxy.flagcache`:

* a *listener* connection only runs ``LISTEN`` and applies each payload
  (``<user_id>:<not_before>``) to the map at once — no query on the hot path of a revocation;
* a *reader* connection re-reads the whole table at start, after every (re)connect of the
  listener (a notification may have been missed meanwhile) and every
  ``PROXY_FLAG_REFRESH_MS`` as a safety net.

Both reconnect with capped exponential backoff. While PostgreSQL is unreachable the last map
stays in force and :meth:`RevocationCache.status` says ``stale``: revocations made meanwhile
reach this gateway when it reconnects (fail-open; access tokens are short-lived — see
docs/security.md). The hot path is one dict lookup (:meth:`RevocationCache.is_revoked`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import psycopg

from domain_services.shared import revocations
from domain_services.shared.settings import Settings
from proxy.flagcache import CONNECT_KWARGS, libpq_url

log = logging.getLogger(__name__)


class RevocationCache:
    """``user_id → not_before`` of every revoked user, kept in sync with PostgreSQL."""

    def __init__(self, settings: Settings) -> None:
        self.url = libpq_url(settings.database_url)
        self.refresh_seconds = max(0.05, settings.proxy_flag_refresh_ms / 1000)
        self.not_before: dict[int, float] = {}
        self.listener_connected = False
        self.last_load_ok: float | None = None
        self.last_error: str | None = None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._reader: psycopg.AsyncConnection | None = None
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

    @staticmethod
    def _raise(target: dict[int, float], user_id: int, not_before: float) -> None:
        # not_before never moves backwards (as in the table), whatever the arrival order
        if not_before > target.get(user_id, float("-inf")):
            target[user_id] = not_before

    async def start(self, first_load_timeout: float = 3.0) -> None:
        """Load the table (bounded wait) and start the listener and refresher tasks."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.reload(), first_load_timeout)
        self._tasks = [asyncio.create_task(self._listen(), name="revocation-listener"),
                       asyncio.create_task(self._refresh(), name="revocation-refresher")]

    async def stop(self) -> None:
        """Cancel background tasks and close connections."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await self._reader.close()

    async def reload(self) -> None:
        """Re-read every row and swap the map; on failure keep the last map."""
        self._during_reload = {}
        try:
            if self._reader is None or self._reader.closed:
                self._reader = await psycopg.AsyncConnection.connect(self.url, **CONNECT_KWARGS)
            async with self._reader.cursor() as cur:
                await cur.execute(revocations.SELECT_ALL)
                rows = await cur.fetchall()
        except (psycopg.Error, OSError) as exc:
            self.last_error = f"{type(exc).__name__}: {exc}".strip()
            if self._reader is not None:
                with contextlib.suppress(Exception):
                    await self._reader.close()
            self._reader = None
            self._during_reload = None
            raise
        fresh = {int(user_id): float(not_before) for user_id, not_before in rows}
        for user_id, not_before in self._during_reload.items():
            self._raise(fresh, user_id, not_before)
        self._during_reload = None
        self.not_before = fresh
        self.last_load_ok = time.time()
        self.last_error = None

    async def _refresh(self) -> None:
        """Reload when woken by the listener or every refresh interval."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.refresh_seconds)
            self._wake.clear()
            try:
                await self.reload()
            except (psycopg.Error, OSError):
                log.warning("revocation reload failed; keeping the last map (%s)", self.last_error)

    async def _listen(self) -> None:
        """``LISTEN token_revocations`` on a dedicated connection, reconnecting with backoff."""
        backoff = 0.1
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.url, **CONNECT_KWARGS) as conn:
                    await conn.execute(f"LISTEN {revocations.CHANNEL}")
                    self.listener_connected = True
                    backoff = 0.1
                    self._wake.set()  # catch up on anything missed while disconnected
                    async for notify in conn.notifies():
                        self.apply(notify.payload)
            except (psycopg.Error, OSError) as exc:
                self.last_error = f"listener: {type(exc).__name__}: {exc}".strip()
            finally:
                self.listener_connected = False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    def status(self) -> dict[str, Any]:
        """Health data: how many users are revoked, freshness, listener state."""
        now = time.time()
        stale_after = max(15.0, 3 * self.refresh_seconds)
        live = self.listener_connected and self.last_load_ok is not None and now - self.last_load_ok < stale_after
        return {
            "revoked_users": len(self.not_before),
            "source": "live" if live else "stale",
            "listener": "connected" if self.listener_connected else "disconnected",
            "last_load_age_s": None if self.last_load_ok is None else round(now - self.last_load_ok, 3),
            "last_error": self.last_error,
        }
