"""Live flag table: loaded at start, refreshed on ``NOTIFY migration_flags`` and every few seconds.

Two PostgreSQL connections per worker, both psycopg async and autocommit:

* the *listener* only runs ``LISTEN migration_flags`` and iterates ``notifies()`` — a running
  ``notifies()`` generator blocks other commands on its connection (psycopg issue #340), so
  it never queries;
* the *reader* re-reads the whole (three-row) table when the listener signals, when it
  (re)connects, and every ``PROXY_FLAG_REFRESH_MS`` as a safety net.

Both reconnect with capped exponential backoff. When PostgreSQL is unreachable the last
table stays in force and :meth:`FlagCache.status` reports ``stale``. The hot path only reads
:attr:`FlagCache.table` — one attribute load, no I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import psycopg

from domain_services.shared.flag_contract import FLAG_FIELDS, NOTIFY_CHANNEL, SELECT_ALL, initial_flags
from domain_services.shared.settings import Settings
from proxy.routing import FLAGGED_DOMAINS, Flag, RoutingTable

log = logging.getLogger(__name__)

SELECT_FLAGS = SELECT_ALL
#: libpq keepalives so a silently dead server is noticed within seconds.
CONNECT_KWARGS: dict[str, Any] = {
    "autocommit": True, "connect_timeout": 3, "keepalives": 1, "keepalives_idle": 5,
    "keepalives_interval": 2, "keepalives_count": 2, "application_name": "cinemaabyss-proxy",
}


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://``) as the libpq URL psycopg expects."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}" if sep else url


def defaults_table(settings: Settings) -> RoutingTable:
    """The table before the first load: env-seeded defaults."""
    return build_table(settings, [], version=0, source="defaults")


def build_table(settings: Settings, rows: list[tuple], *, version: int, source: str) -> RoutingTable:
    """A routing table from ``migration_flags`` rows, with defaults for missing domains."""
    initial = initial_flags(settings.gradual_migration, settings.movies_migration_percent)
    values = {d: {k: v for k, v in f.items() if k in FLAG_FIELDS} for d, f in initial.items()}
    stamps: dict[str, float | None] = {}
    for row in rows:
        domain = row[0]
        if domain in values:
            values[domain] = dict(zip(FLAG_FIELDS, row[1:1 + len(FLAG_FIELDS)], strict=True))
            stamps[domain] = row[-1]
    flags = {d: Flag(domain=d, updated_at=stamps.get(d), **values[d]) for d in FLAGGED_DOMAINS}
    return RoutingTable(flags=flags, version=version, source=source)


class FlagCache:
    """Holds the current :class:`RoutingTable` and keeps it in sync with PostgreSQL."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = libpq_url(settings.database_url)
        self.table: RoutingTable = defaults_table(settings)
        self.listener_connected = False
        self.last_load_ok: float | None = None
        self.last_error: str | None = None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._reader: psycopg.AsyncConnection | None = None
        self._version = 0

    async def start(self, first_load_timeout: float = 3.0) -> None:
        """Load the table (bounded wait) and start the listener and refresher tasks."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.reload(), first_load_timeout)
        self._tasks = [asyncio.create_task(self._listen(), name="flag-listener"),
                       asyncio.create_task(self._refresh(), name="flag-refresher")]

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

    def replace_flag(self, flag: Flag, source: str) -> None:
        """Swap in ``flag`` immediately (local auto-rollback before the NOTIFY round trip)."""
        self.table = self.table.with_flag(flag, source)

    async def reload(self) -> None:
        """Re-read every flag row and swap the table; on failure keep the last table."""
        try:
            if self._reader is None or self._reader.closed:
                self._reader = await psycopg.AsyncConnection.connect(self.url, **CONNECT_KWARGS)
            async with self._reader.cursor() as cur:
                await cur.execute(SELECT_FLAGS)
                rows = await cur.fetchall()
        except (psycopg.Error, OSError) as exc:
            self.last_error = f"{type(exc).__name__}: {exc}".strip()
            if self._reader is not None:
                with contextlib.suppress(Exception):
                    await self._reader.close()
            self._reader = None
            raise
        self._version += 1
        new = build_table(self.settings, rows, version=self._version, source="database")
        if new.flags != self.table.flags or self.table.source != "database":
            self.table = new
        self.last_load_ok = time.time()
        self.last_error = None

    async def _refresh(self) -> None:
        """Reload when woken by the listener or every refresh interval."""
        interval = max(0.05, self.settings.proxy_flag_refresh_ms / 1000)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()
            try:
                await self.reload()
            except (psycopg.Error, OSError):
                log.warning("flag reload failed; keeping the last table (%s)", self.last_error)

    async def _listen(self) -> None:
        """``LISTEN migration_flags`` on a dedicated connection, reconnecting with backoff."""
        backoff = 0.1
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.url, **CONNECT_KWARGS) as conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.listener_connected = True
                    backoff = 0.1
                    self._wake.set()  # catch up on anything missed while disconnected
                    async for _ in conn.notifies():
                        self._wake.set()
            except (psycopg.Error, OSError) as exc:
                self.last_error = f"listener: {type(exc).__name__}: {exc}".strip()
            finally:
                self.listener_connected = False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    def status(self) -> dict[str, Any]:
        """Health data: table, source freshness, listener state."""
        now = time.time()
        stale_after = max(15.0, 3 * self.settings.proxy_flag_refresh_ms / 1000)
        live = self.listener_connected and self.last_load_ok is not None and now - self.last_load_ok < stale_after
        stamps = [f.updated_at for f in self.table.flags.values() if f.updated_at]
        return {
            "flags": {d: f.as_dict() for d, f in self.table.flags.items()},
            "flags_version": self.table.version,
            "flags_source": "live" if live else "stale",
            "table_source": self.table.source,
            "db_listener": "connected" if self.listener_connected else "disconnected",
            "last_load_age_s": None if self.last_load_ok is None else round(now - self.last_load_ok, 3),
            "last_flag_update_age_s": round(now - max(stamps), 3) if stamps else None,
            "last_error": self.last_error,
        }
