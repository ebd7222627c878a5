"""A PostgreSQL table mirrored in a worker's memory: loaded at start, pushed by ``NOTIFY``, re-read as a net.

The gateway keeps two such mirrors (the flag table, the token revocations); both follow one
protocol, written here once. Two psycopg async autocommit connections per mirror:

* the *listener* only runs ``LISTEN <channel>`` and iterates ``notifies()`` — a running
  ``notifies()`` generator blocks other commands on its connection (psycopg issue #340), so
  it never queries; each payload goes to :meth:`PgMirror.notified`;
* the *reader* re-reads the whole table when woken, after every (re)connect of the listener
  (a notification may have been missed meanwhile) and every refresh interval as a safety net.

Both reconnect with capped exponential backoff. While PostgreSQL is unreachable the last
state stays in force and the subclass's ``status()`` reports it stale. The hot path only reads
what :meth:`PgMirror.swap` stored — no I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import psycopg

from kernel.backoff import Backoff

log = logging.getLogger(__name__)

#: libpq keepalives so a silently dead server is noticed within seconds.
CONNECT_KWARGS: dict[str, Any] = {
    "autocommit": True, "connect_timeout": 3, "keepalives": 1, "keepalives_idle": 5,
    "keepalives_interval": 2, "keepalives_count": 2, "application_name": "cinemaabyss-proxy",
}


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+psycopg://``) as the libpq URL psycopg expects."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}" if sep else url


class PgMirror:
    """Keeps one table in sync; subclasses name the query and channel and store the rows."""

    #: what the mirror holds, for task names and log lines
    name: str = "table"
    #: the ``LISTEN`` channel
    channel: str
    #: the statement that reads every row
    query: str

    def __init__(self, database_url: str, refresh_ms: int) -> None:
        self.url = libpq_url(database_url)
        self.refresh_seconds = max(0.05, refresh_ms / 1000)
        self.listener_connected = False
        self.last_load_ok: float | None = None
        self.last_error: str | None = None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._reader: psycopg.AsyncConnection | None = None

    def swap(self, rows: list[tuple]) -> None:
        """Replace the in-memory state with ``rows`` (every row of :attr:`query`)."""
        raise NotImplementedError

    def notified(self, payload: str) -> None:
        """React to one notification; by default wake the reader for a full re-read."""
        self._wake.set()

    async def start(self, first_load_timeout: float = 3.0) -> None:
        """Load the table (bounded wait) and start the listener and refresher tasks."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.reload(), first_load_timeout)
        self._tasks = [asyncio.create_task(self._listen(), name=f"{self.name}-listener"),
                       asyncio.create_task(self._refresh(), name=f"{self.name}-refresher")]

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
        """Re-read every row and swap the state; on failure keep the last state and raise."""
        try:
            if self._reader is None or self._reader.closed:
                self._reader = await psycopg.AsyncConnection.connect(self.url, **CONNECT_KWARGS)
            async with self._reader.cursor() as cur:
                await cur.execute(self.query)
                rows = await cur.fetchall()
        except (psycopg.Error, OSError) as exc:
            self.last_error = f"{type(exc).__name__}: {exc}".strip()
            if self._reader is not None:
                with contextlib.suppress(Exception):
                    await self._reader.close()
            self._reader = None
            raise
        self.swap(rows)
        self.last_load_ok = time.time()
        self.last_error = None

    def is_live(self, now: float) -> bool:
        """Listener connected and a load recent enough to trust."""
        stale_after = max(15.0, 3 * self.refresh_seconds)
        return self.listener_connected and self.last_load_ok is not None and now - self.last_load_ok < stale_after

    def last_load_age(self, now: float) -> float | None:
        """Seconds since the last successful load (``None`` before the first)."""
        return None if self.last_load_ok is None else round(now - self.last_load_ok, 3)

    async def _refresh(self) -> None:
        """Reload when woken by the listener or every refresh interval."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.refresh_seconds)
            self._wake.clear()
            try:
                await self.reload()
            except (psycopg.Error, OSError):
                log.warning("%s reload failed; keeping the last state (%s)", self.name, self.last_error)

    async def _listen(self) -> None:
        """``LISTEN`` on a dedicated connection, reconnecting with backoff."""
        pause = Backoff(0.1, 5.0)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.url, **CONNECT_KWARGS) as conn:
                    await conn.execute(f"LISTEN {self.channel}")
                    self.listener_connected = True
                    pause.reset()
                    self._wake.set()  # catch up on anything missed while disconnected
                    async for notify in conn.notifies():
                        self.notified(notify.payload)
            except (psycopg.Error, OSError) as exc:
                self.last_error = f"listener: {type(exc).__name__}: {exc}".strip()
            finally:
                self.listener_connected = False
            await asyncio.sleep(pause.next())
