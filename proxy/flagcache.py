"""Live flag table: loaded at start, refreshed on ``NOTIFY migration_flags`` and every few seconds.

A :class:`~proxy.pgmirror.PgMirror` of the (three-row) ``migration_flags`` table: a listener
connection wakes the reader on every notification, the reader re-reads the table and swaps an
immutable :class:`RoutingTable`. When PostgreSQL is unreachable the last table stays in force
and :meth:`FlagCache.status` reports ``stale``. The hot path only reads
:attr:`FlagCache.table` — one attribute load, no I/O.
"""

from __future__ import annotations

import time
from typing import Any

from kernel.registry import FLAGGED
from kernel.settings import Settings
from proxy.pgmirror import CONNECT_KWARGS, PgMirror, libpq_url
from proxy.routing import Flag, RoutingTable
from strangler.flag_contract import FLAG_FIELDS, NOTIFY_CHANNEL, SELECT_ALL, initial_flags

__all__ = ["CONNECT_KWARGS", "FlagCache", "build_table", "defaults_table", "libpq_url"]


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
    flags = {d: Flag(domain=d, updated_at=stamps.get(d), **values[d]) for d in FLAGGED}
    return RoutingTable(flags=flags, version=version, source=source)


class FlagCache(PgMirror):
    """Holds the current :class:`RoutingTable` and keeps it in sync with PostgreSQL."""

    name = "flag"
    channel = NOTIFY_CHANNEL
    query = SELECT_ALL

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings.database_url, settings.proxy_flag_refresh_ms)
        self.settings = settings
        self.table: RoutingTable = defaults_table(settings)
        self._version = 0

    def replace_flag(self, flag: Flag, source: str) -> None:
        """Swap in ``flag`` immediately (local auto-rollback before the NOTIFY round trip)."""
        self.table = self.table.with_flag(flag, source)

    def swap(self, rows: list[tuple]) -> None:
        """Build the table from the rows; keep the old object when nothing changed."""
        self._version += 1
        new = build_table(self.settings, rows, version=self._version, source="database")
        if new.flags != self.table.flags or self.table.source != "database":
            self.table = new

    def status(self) -> dict[str, Any]:
        """Health data: table, source freshness, listener state."""
        now = time.time()
        stamps = [f.updated_at for f in self.table.flags.values() if f.updated_at]
        return {
            "flags": {d: f.as_dict() for d, f in self.table.flags.items()},
            "flags_version": self.table.version,
            "flags_source": "live" if self.is_live(now) else "stale",
            "table_source": self.table.source,
            "db_listener": "connected" if self.listener_connected else "disconnected",
            "last_load_age_s": self.last_load_age(now),
            "last_flag_update_age_s": round(now - max(stamps), 3) if stamps else None,
            "last_error": self.last_error,
        }
