"""Sliding-window error rates, consecutive-failure streaks and the automatic rollback they trigger.

Each (domain, backend) keeps ten one-second buckets of (attempts, errors). An error is a
connect error, a timeout or a 5xx from that backend — counted even when the monolith then
served the request through fallback. Two rules trip a rollback of a domain whose flag has
``auto_rollback`` on:

* the service's error rate over the window reaches ``rollback_error_rate`` with at least
  ``rollback_min_requests`` attempts (a flaky service);
* ``rollback_consecutive`` service attempts in a row failed (a dead one; see
  :mod:`proxy.failures`) — this trips within milliseconds of a crash at any traffic level.

Then the proxy:

1. swaps its own table to ``mode=monolith`` at once (no round trip before it stops sending);
2. runs the flag contract's change protocol (:mod:`strangler.flag_contract`) over
   psycopg: locks the flag row, sets ``mode='monolith'``, writes a ``flag_audit`` row (action
   ``flag.auto_rollback``, actor ``proxy:<host>:<pid>``, reason ``auto-rollback: …``) and
   ``pg_notify``s every other proxy, in one transaction. A proxy that finds the row already at
   ``monolith`` writes nothing, so racing proxies record one rollback.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket

import psycopg

from proxy.failures import ConsecutiveFailures
from proxy.flagcache import CONNECT_KWARGS, FlagCache
from proxy.metrics import ROLLBACKS
from proxy.routing import Flag
from strangler import flag_contract as contract

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
        self.streaks = ConsecutiveFailures()
        self._running: set[str] = set()
        self._tasks: set[asyncio.Task] = set()

    def record(self, domain: str, backend: str, error: bool, now: int, flag: Flag | None) -> None:
        """Count an attempt; on a service error check the flag's threshold."""
        window = self.windows.get((domain, backend))
        if window is None:
            window = self.windows[(domain, backend)] = ErrorWindow()
        window.add(now, error)
        if backend != "service":
            return
        streak = self.streaks.record(domain, error)
        if not error or flag is None:
            return
        if not flag.auto_rollback or flag.mode == "monolith" or domain in self._running:
            return
        if self.streaks.tripped(domain, flag.rollback_consecutive):
            self.trigger(flag, f"auto-rollback: {streak} consecutive service failures")
            return
        total, errors = window.counts(now)
        if total >= flag.rollback_min_requests and errors / total >= flag.rollback_error_rate:
            self.trigger(flag, f"auto-rollback: error rate {errors / total:.2f} over {total} requests")

    def trigger(self, flag: Flag, reason: str) -> None:
        """Roll ``flag.domain`` back locally now and in the database in the background."""
        domain = flag.domain
        self._running.add(domain)
        self.cache.replace_flag(dataclasses.replace(flag, mode="monolith"), "local-rollback")
        self.windows.pop((domain, "service"), None)
        self.streaks.clear(domain)
        ROLLBACKS.labels(domain).inc()
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
    """Set the domain to monolith with an audit row and NOTIFY, in one transaction (flag contract).

    Returns ``False`` when the row was already at ``monolith`` (another proxy was first).
    """
    initial = {name: getattr(flag, name) for name in contract.FLAG_FIELDS}
    steps = contract.change_steps(flag.domain, {"mode": "monolith"}, actor, initial=initial,
                                  action=contract.ACTION_AUTO_ROLLBACK, reason=reason,
                                  skip=lambda before: before["mode"] == "monolith")
    connect = psycopg.AsyncConnection.connect(url, **{**CONNECT_KWARGS, "autocommit": False})
    async with await connect as conn, conn.transaction():
        async def execute(sql: str, params) -> tuple | None:
            cur = await conn.execute(sql, params)
            return await cur.fetchone() if cur.description else None
        after = await contract.run_async(steps, execute)
    return after is not None
