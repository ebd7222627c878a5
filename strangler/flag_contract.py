"""The flag protocol in one place: columns, defaults, channel and the SQL to read, set and roll back.

Used by the console and the CLI (through :mod:`strangler.flags`, over a SQLAlchemy
connection) and by the gateway (plain psycopg, no ORM). Both sides run the same
:func:`change_steps` protocol: a generator that yields ``(sql, params)`` and receives the
first row of each statement's result, so the transaction logic — create the row from the
defaults if absent, lock it, write it, write the ``flag_audit`` row, ``pg_notify`` every
gateway — is written once and run by a sync (:func:`run_sync`) or async (:func:`run_async`)
driver. All SQL uses bound ``%(name)s`` parameters (psycopg's style); column names come from
the constant :data:`FLAG_FIELDS` only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from kernel import registry

NOTIFY_CHANNEL = "migration_flags"
FLAG_MODES = ("monolith", "gradual", "service")
STICKY_KEYS = ("user", "header", "client", "none")


@dataclass(frozen=True)
class FlagField:
    """One routing field of a flag: its name, default and what values it takes.

    ``kind`` is ``choice`` (one of ``choices``), ``int`` (whole number from ``low``, up to
    ``high`` when set), ``bool`` or ``rate`` (a fraction in (0, 1]). The validator, the CLI's
    options and the console's settings form are all built from these declarations.
    """

    name: str
    default: Any
    kind: str
    help: str
    choices: tuple[str, ...] = ()
    low: int | None = None
    high: int | None = None


#: Every routing field of a flag, in column order, with its default (the row's server defaults,
#: migrations 0001/0003). The one declaration of the flag's fields.
FIELDS: tuple[FlagField, ...] = (
    FlagField("mode", "monolith", "choice", "where the domain's traffic goes", choices=FLAG_MODES),
    FlagField("percent", 0, "int", "the service's share in gradual mode", low=0, high=100),
    FlagField("sticky_key", "user", "choice", "what keeps a caller on one backend", choices=STICKY_KEYS),
    FlagField("fallback", True, "bool", "retry a failed service request on the monolith"),
    FlagField("auto_rollback", True, "bool", "roll back to the monolith when the service fails"),
    FlagField("rollback_error_rate", 0.5, "rate", "error rate that rolls back"),
    FlagField("rollback_min_requests", 20, "int", "requests needed before the rate counts", low=1),
    FlagField("shadow_percent", 0, "int", "share of reads mirrored to the service to compare", low=0, high=100),
    # consecutive connect failures / 5xx from the service that roll the domain back at once
    FlagField("rollback_consecutive", 5, "int", "service failures in a row that roll back", low=1),
    # the latency rule (proxy/latency.py): 0 leaves it to the gateway's PROXY_ROLLBACK_P99_PERCENT
    FlagField("rollback_p99_percent", 0, "int",
              "service p99 over this % of the monolith's rolls back (0: the gateway's setting)", low=0, high=10_000),
)
FLAG_DEFAULTS: dict[str, Any] = {f.name: f.default for f in FIELDS}
FLAG_FIELDS: tuple[str, ...] = tuple(FLAG_DEFAULTS)

#: Audit actions written by this protocol.
ACTION_CHANGED = "flag.changed"
ACTION_ROLLBACK = "flag.rollback"
ACTION_AUTO_ROLLBACK = "flag.auto_rollback"
#: What a rollback changes.
ROLLBACK_CHANGES: dict[str, Any] = {"mode": "monolith", "percent": 0}

_COLUMNS = ", ".join(FLAG_FIELDS)
_ROW = f"{_COLUMNS}, updated_at, updated_by"
SELECT_ALL = f"SELECT domain, {_COLUMNS}, extract(epoch FROM updated_at)::float8 FROM migration_flags"  # noqa: S608
SELECT_ALL_ROWS = f"SELECT domain, {_ROW} FROM migration_flags ORDER BY domain"  # noqa: S608
SELECT_ONE = f"SELECT {_ROW} FROM migration_flags WHERE domain = %(domain)s"  # noqa: S608
ENSURE_ROW = (f"INSERT INTO migration_flags (domain, {_COLUMNS}) "  # noqa: S608
              f"VALUES (%(domain)s, {', '.join(f'%({name})s' for name in FLAG_FIELDS)}) "
              "ON CONFLICT (domain) DO NOTHING")
LOCK_ROW = f"{SELECT_ONE} FOR UPDATE"
INSERT_AUDIT = ("INSERT INTO flag_audit (actor, action, domain, before, after, reason) "
                "VALUES (%(actor)s, %(action)s, %(domain)s, %(before)s, %(after)s, %(reason)s)")
NOTIFY = "SELECT pg_notify(%(channel)s, %(domain)s)"

Step = tuple[str, Mapping[str, Any]]


def update_sql(names: tuple[str, ...]) -> str:
    """``UPDATE`` of the given flag columns (each a member of :data:`FLAG_FIELDS`), returning the row."""
    unknown = set(names) - set(FLAG_FIELDS)
    if unknown:
        raise ValueError(f"not flag columns: {sorted(unknown)}")
    sets = "".join(f"{name} = %({name})s, " for name in names)
    return (f"UPDATE migration_flags SET {sets}updated_at = now(), updated_by = %(actor)s "  # noqa: S608
            f"WHERE domain = %(domain)s RETURNING {_ROW}")


def row_to_flag(domain: str, row: tuple) -> dict[str, Any]:
    """A ``SELECT_ONE``-shaped row as ``{"domain", fields…, "updated_at", "updated_by"}``."""
    flag: dict[str, Any] = {"domain": domain, **dict(zip(FLAG_FIELDS, row[:len(FLAG_FIELDS)], strict=True))}
    flag["updated_at"], flag["updated_by"] = row[len(FLAG_FIELDS)], row[len(FLAG_FIELDS) + 1]
    return flag


def routing(flag: Mapping[str, Any]) -> dict[str, Any]:
    """Only the routing fields of ``flag`` (what audit rows record)."""
    return {name: flag[name] for name in FLAG_FIELDS}


def change_steps(domain: str, changes: Mapping[str, Any], actor: str, *, initial: Mapping[str, Any],
                 action: str = ACTION_CHANGED, reason: str | None = None,
                 skip: Callable[[dict[str, Any]], bool] | None = None,
                 ) -> Generator[Step, tuple | None, dict[str, Any] | None]:
    """The change protocol: yields ``(sql, params)``, receives each statement's first row.

    ``changes`` must already be validated; ``initial`` holds the values a missing row is
    created with. When ``skip(before)`` is true nothing is written and the generator returns
    ``None`` (e.g. an automatic rollback that another gateway already recorded); otherwise it
    returns the new flag. Run it inside one transaction.
    """
    actor = actor[:100]
    yield ENSURE_ROW, {"domain": domain, **{name: initial[name] for name in FLAG_FIELDS}}
    locked = yield LOCK_ROW, {"domain": domain}
    before = routing(row_to_flag(domain, locked))
    if skip is not None and skip(before):
        return None
    names = tuple(name for name in FLAG_FIELDS if name in changes)
    written = yield update_sql(names), {"domain": domain, "actor": actor, **{n: changes[n] for n in names}}
    after = row_to_flag(domain, written)
    yield INSERT_AUDIT, {"actor": actor, "action": action, "domain": domain, "before": Jsonb(before),
                         "after": Jsonb(routing(after)), "reason": reason}
    yield NOTIFY, {"channel": NOTIFY_CHANNEL, "domain": domain}
    return after


def run_sync(steps: Generator[Step, tuple | None, Any],
             execute: Callable[[str, Mapping[str, Any]], tuple | None]) -> Any:
    """Drive ``steps`` with a synchronous ``execute(sql, params) -> first row or None``."""
    try:
        sql, params = next(steps)
        while True:
            sql, params = steps.send(execute(sql, params))
    except StopIteration as done:
        return done.value


async def run_async(steps: Generator[Step, tuple | None, Any],
                    execute: Callable[[str, Mapping[str, Any]], Awaitable[tuple | None]]) -> Any:
    """Drive ``steps`` with an asynchronous ``execute`` (the gateway's psycopg connection)."""
    try:
        sql, params = next(steps)
        while True:
            sql, params = steps.send(await execute(sql, params))
    except StopIteration as done:
        return done.value


def initial_flags(gradual_migration: bool = False, movies_percent: int = 0) -> dict[str, dict[str, Any]]:
    """Per-domain flag values used while a domain has no row yet: the protocol's defaults under
    each domain's own (registry) defaults.

    ``GRADUAL_MIGRATION`` / ``MOVIES_MIGRATION_PERCENT`` (legacy deployment variables, passed in
    by the caller) seed the movies flag: gradual mode at that percent when the former is true.
    """
    flags = {name: {"domain": name, **FLAG_DEFAULTS, **registry.domain(name).flag_defaults}
             for name in registry.FLAGGED}
    if gradual_migration:
        flags["movies"]["mode"] = "gradual"
        flags["movies"]["percent"] = max(0, min(100, int(movies_percent)))
    return flags
