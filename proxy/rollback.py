"""Sliding-window error rates per domain and backend, and the automatic rollback they trigger.

Each (domain, backend) keeps ten one-second buckets of (attempts, errors). An error is a
connect error, a timeout or a 5xx from that backend — counted even when the monolith then
served the request through fallback. When the service's error rate over the window reaches
the flag's ``rollback_error_rate`` with at least ``rollback_min_requests`` attempts (and
``auto_rollback`` is on), the proxy:

1. swaps its own table to ``mode=monolith`` at once (no round trip before it stops sending);
2. in one transaction locks the flag row, sets ``mode='monolith'``, writes a ``flag_audit``
   row (action ``flag.auto_rollback``, actor ``proxy:<host>:<pid>``, reason
   ``auto-rollback: …``) and ``pg_notify``s every other proxy. A proxy that finds the row
   already at ``monolith`` writes nothing, so racing proxies record one rollback.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket

import psycopg
from psycopg.types.json import Jsonb

from domain_services.shared.flags import FLAG_FIELDS, NOTIFY_CHANNEL
from proxy.flagcache import CONNECT_KWARGS, FlagCache
from proxy.metrics import ROLLBACKS
from proxy.routing import Flag

log = logging.getLogger(__name__)

WINDOW_SECONDS = 10


class ErrorWindow:
    """Attempts and errors over the last :data:`WINDOW_SECONDS` seconds for one backend."""

    __slots__ = ("errors", "seconds", "totals")

    def __init__(self) -> None:
        self.seconds = [0] * WINDOW_SECONDS
        self.totals = [0] * WINDOW_SECONDS
        self.errors = [0] * WINDOW_SECONDS

    def add(self, now: int, error: bool) -> None:
        """Count one attempt at unix second ``now``."""
        i = now % WINDOW_SECONDS
        if self.seconds[i] != now:
            self.seconds[i] = now
            self.totals[i] = 0
            self.errors[i] = 0
        self.totals[i] += 1
        if error:
            self.errors[i] += 1

    def counts(self, now: int) -> tuple[int, int]:
        """``(attempts, errors)`` within the window ending at ``now``."""
        total = errors = 0
        oldest = now - WINDOW_SECONDS
        for i in range(WINDOW_SECONDS):
            if self.seconds[i] > oldest:
                total += self.totals[i]
                errors += self.errors[i]
        return total, errors

    def clear(self) -> None:
        """Forget everything (after a rollback)."""
        self.seconds = [0] * WINDOW_SECONDS


def _actor() -> str:
    return f"proxy:{socket.gethostname()}:{os.getpid()}"[:100]


class AutoRollback:
    """Watches service error rates and rolls a domain back when its threshold is crossed."""

    def __init__(self, cache: FlagCache) -> None:
        self.cache = cache
        self.windows: dict[tuple[str, str], ErrorWindow] = {}
        self._running: set[str] = set()
        self._tasks: set[asyncio.Task] = set()

    def record(self, domain: str, backend: str, error: bool, now: int, flag: Flag | None) -> None:
        """Count an attempt; on a service error check the flag's threshold."""
        window = self.windows.get((domain, backend))
        if window is None:
            window = self.windows[(domain, backend)] = ErrorWindow()
        window.add(now, error)
        if not error or backend != "service" or flag is None:
            return
        if not flag.auto_rollback or flag.mode == "monolith" or domain in self._running:
            return
        total, errors = window.counts(now)
        if total >= flag.rollback_min_requests and errors / total >= flag.rollback_error_rate:
            self.trigger(flag, total, errors)

    def trigger(self, flag: Flag, total: int, errors: int) -> None:
        """Roll ``flag.domain`` back locally now and in the database in the background."""
        domain = flag.domain
        self._running.add(domain)
        self.cache.replace_flag(dataclasses.replace(flag, mode="monolith"), "local-rollback")
        self.windows.pop((domain, "service"), None)
        ROLLBACKS.labels(domain).inc()
        reason = f"auto-rollback: error rate {errors / total:.2f} over {total} requests"
        log.warning("%s: %s", domain, reason)
        task = asyncio.create_task(self._persist(flag, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _persist(self, flag: Flag, reason: str) -> None:
        try:
            await persist_rollback(self.cache.url, flag, _actor(), reason)
        except (psycopg.Error, OSError) as exc:
            log.error("auto-rollback of %s not written to the database: %s", flag.domain, exc)
        finally:
            self._running.discard(flag.domain)

    async def stop(self) -> None:
        """Wait briefly for rollbacks being written."""
        if self._tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait(self._tasks, timeout=3)


async def persist_rollback(url: str, flag: Flag, actor: str, reason: str) -> bool:
    """Set the domain to monolith with an audit row and NOTIFY, in one transaction.

    Returns ``False`` when the row was already at ``monolith`` (another proxy was first).
    """
    cols = ", ".join(FLAG_FIELDS)
    initial = [getattr(flag, name) for name in FLAG_FIELDS]
    # Column names below come from the constant FLAG_FIELDS; every value is a bound parameter.
    insert_sql = (f"INSERT INTO migration_flags (domain, {cols}) VALUES (%s{', %s' * len(FLAG_FIELDS)}) "  # noqa: S608
                  "ON CONFLICT (domain) DO NOTHING")
    select_sql = f"SELECT {cols} FROM migration_flags WHERE domain = %s FOR UPDATE"  # noqa: S608
    connect = psycopg.AsyncConnection.connect(url, **{**CONNECT_KWARGS, "autocommit": False})
    async with await connect as conn, conn.transaction():
        await conn.execute(insert_sql, [flag.domain, *initial])
        cur = await conn.execute(select_sql, [flag.domain])
        before = dict(zip(FLAG_FIELDS, await cur.fetchone(), strict=True))
        if before["mode"] == "monolith":
            return False
        after = {**before, "mode": "monolith"}
        await conn.execute("UPDATE migration_flags SET mode = 'monolith', updated_at = now(), updated_by = %s "
                           "WHERE domain = %s", [actor, flag.domain])
        await conn.execute("INSERT INTO flag_audit (actor, action, domain, before, after, reason) "
                           "VALUES (%s, 'flag.auto_rollback', %s, %s, %s, %s)",
                           [actor, flag.domain, Jsonb(before), Jsonb(after), reason])
        await conn.execute("SELECT pg_notify(%s, %s)", [NOTIFY_CHANNEL, flag.domain])
    return True
