"""Sliding-window error rates, consecutive-failure streaks and the automatic rollback they trigger.

Each domain keeps ten one-second buckets of its service attempts: how many, how many failed
(:class:`~proxy.failures.Outcome` ``CONNECT`` or ``FAULT``), how many of those were connect
failures, and which callers the failures came from. An attempt that was not the service's
fault (``EXCUSED``: the monolith failed or refused the same request) counts as an attempt,
never as an error. Two rules trip a rollback of a domain whose flag has ``auto_rollback`` on:

* the service's error rate over the window reaches ``rollback_error_rate`` with at least
  ``rollback_min_requests`` attempts, and either connect failures alone reach that rate or the
  failures came from at least ``PROXY_ROLLBACK_WITNESSES`` distinct callers (a flaky service,
  not one caller's crafted requests);
* ``rollback_consecutive`` service attempts in a row failed with the same proof (a dead one;
  see :mod:`proxy.failures`) — this trips within milliseconds of a crash at any traffic level.

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

from proxy.failures import WITNESSES, ConsecutiveFailures, Outcome
from proxy.flagcache import CONNECT_KWARGS, FlagCache
from proxy.latency import LatencyWatch
from proxy.metrics import ROLLBACKS
from proxy.routing import Flag
from strangler import flag_contract as contract

log = logging.getLogger(__name__)

WINDOW_SECONDS = 10


class ErrorWindow:
    """Service attempts and failures over the last :data:`WINDOW_SECONDS` seconds for one domain."""

    __slots__ = ("callers", "connects", "errors", "seconds", "totals")

    def __init__(self) -> None:
        self.seconds = [0] * WINDOW_SECONDS
        self.totals = [0] * WINDOW_SECONDS
        self.errors = [0] * WINDOW_SECONDS
        self.connects = [0] * WINDOW_SECONDS
        self.callers: list[set[str]] = [set() for _ in range(WINDOW_SECONDS)]

    def add(self, now: int, outcome: Outcome, caller: str = "", witnesses: int = WITNESSES) -> None:
        """Count one attempt at unix second ``now`` (a failure's caller kept, up to ``witnesses``)."""
        i = now % WINDOW_SECONDS
        if self.seconds[i] != now:
            self.seconds[i] = now
            self.totals[i] = self.errors[i] = self.connects[i] = 0
            self.callers[i].clear()
        self.totals[i] += 1
        if outcome is Outcome.CONNECT or outcome is Outcome.FAULT:
            self.errors[i] += 1
            if outcome is Outcome.CONNECT:
                self.connects[i] += 1
            if len(self.callers[i]) < witnesses:
                self.callers[i].add(caller)

    def counts(self, now: int) -> tuple[int, int]:
        """``(attempts, errors)`` within the window ending at ``now``."""
        total = errors = 0
        oldest = now - WINDOW_SECONDS
        for i in range(WINDOW_SECONDS):
            if self.seconds[i] > oldest:
                total += self.totals[i]
                errors += self.errors[i]
        return total, errors

    def proof(self, now: int, witnesses: int) -> tuple[int, int]:
        """``(connect failures, distinct failing callers up to witnesses)`` within the window."""
        connects = 0
        callers: set[str] = set()
        oldest = now - WINDOW_SECONDS
        for i in range(WINDOW_SECONDS):
            if self.seconds[i] > oldest:
                connects += self.connects[i]
                if len(callers) < witnesses:
                    callers |= self.callers[i]
        return connects, min(len(callers), witnesses)

    def clear(self) -> None:
        """Forget everything (after a rollback)."""
        self.seconds = [0] * WINDOW_SECONDS


def rate_tripped(window: ErrorWindow, now: int, flag: Flag, witnesses: int) -> str | None:
    """The reason to roll back when the windowed rule trips, else ``None``."""
    total, errors = window.counts(now)
    if total < max(1, flag.rollback_min_requests) or errors / total < flag.rollback_error_rate:
        return None
    connects, callers = window.proof(now, witnesses)
    if connects / total < flag.rollback_error_rate and callers < witnesses:
        return None  # failures of too few callers: possibly crafted requests
    return f"auto-rollback: error rate {errors / total:.2f} over {total} requests"


def _actor() -> str:
    return f"proxy:{socket.gethostname()}:{os.getpid()}"[:100]


class AutoRollback:
    """Watches service error rates and rolls a domain back when its threshold is crossed."""

    def __init__(self, cache: FlagCache, witnesses: int = WITNESSES, p99_percent: int = 0) -> None:
        self.cache = cache
        self.witnesses = max(1, witnesses)
        #: the latency rule (:mod:`proxy.latency`); a flag's own bound wins over this default ratio
        self.latencies = LatencyWatch(self.witnesses)
        self.p99_ratio = p99_percent / 100
        self.windows: dict[str, ErrorWindow] = {}
        self.streaks = ConsecutiveFailures(self.witnesses)
        self._running: set[str] = set()
        self._tasks: set[asyncio.Task] = set()

    def record(self, domain: str, outcome: Outcome, now: int, flag: Flag | None, caller: str = "") -> None:
        """Count one service attempt of ``caller``; on a failure check the flag's thresholds."""
        window = self.windows.get(domain)
        if window is None:
            window = self.windows[domain] = ErrorWindow()
        window.add(now, outcome, caller, self.witnesses)
        self.streaks.record(domain, outcome, caller)
        if flag is None or (outcome is not Outcome.CONNECT and outcome is not Outcome.FAULT):
            return
        if not flag.auto_rollback or flag.mode == "monolith" or domain in self._running:
            return
        if self.streaks.tripped(domain, flag.rollback_consecutive):
            self.trigger(flag, f"auto-rollback: {self.streaks.current(domain).describe()}")
            return
        reason = rate_tripped(window, now, flag, self.witnesses)
        if reason is not None:
            self.trigger(flag, reason)

    def latency(self, domain: str, backend: str, seconds: float, now: int, flag: Flag, caller: str) -> None:
        """Count an answered attempt's latency; check the p99 rule at most once a second."""
        self.latencies.add(domain, backend, seconds, now, caller)
        if not flag.auto_rollback or flag.mode == "monolith" or domain in self._running:
            return
        ratio = flag.rollback_p99_percent / 100 if flag.rollback_p99_percent else self.p99_ratio
        reason = self.latencies.verdict(domain, now, flag.rollback_min_requests, ratio)
        if reason is not None:
            self.trigger(flag, reason)

    def trigger(self, flag: Flag, reason: str) -> None:
        """Roll ``flag.domain`` back locally now and in the database in the background."""
        domain = flag.domain
        self._running.add(domain)
        self.cache.replace_flag(dataclasses.replace(flag, mode="monolith"), "local-rollback")
        self.windows.pop(domain, None)
        self.latencies.clear(domain)
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
