"""Strangler flags: read, validate, change (with audit row and NOTIFY) and roll back.

Synchronous functions over SQLAlchemy used by the console and the CLI. The proxy never calls
these on its hot path: it loads the table with psycopg at start-up and on every
``NOTIFY migration_flags`` (see ``proxy/flagcache.py``); it shares :func:`initial_flags`,
:data:`FLAG_FIELDS` and :func:`validate_changes` from here so both sides agree on defaults.

A change writes the flag row, a ``flag_audit`` row and ``pg_notify('migration_flags',
'<domain>')`` in one transaction, so the notification is delivered exactly when (and only if)
the change commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain_services.shared.db import read_session, unit_of_work
from domain_services.shared.errors import InvalidInput
from domain_services.shared.models import FLAG_DOMAINS, FLAG_MODES, FlagAudit, MigrationFlag
from domain_services.shared.settings import Settings, get_settings

NOTIFY_CHANNEL = "migration_flags"
STICKY_KEYS = ("user", "header", "client", "none")

#: Every routing field of a flag and its default (the row's server defaults).
FLAG_DEFAULTS: dict[str, Any] = {
    "mode": "monolith",
    "percent": 0,
    "sticky_key": "user",
    "fallback": True,
    "auto_rollback": True,
    "rollback_error_rate": 0.5,
    "rollback_min_requests": 20,
    "shadow_percent": 0,
}
FLAG_FIELDS: tuple[str, ...] = tuple(FLAG_DEFAULTS)


def initial_flags(settings: Settings) -> dict[str, dict[str, Any]]:
    """Per-domain flag values used while a domain has no row yet.

    ``GRADUAL_MIGRATION`` / ``MOVIES_MIGRATION_PERCENT`` (legacy deployment variables) seed the
    movies flag: gradual mode at that percent when the former is true.
    """
    flags = {domain: {"domain": domain, **FLAG_DEFAULTS} for domain in FLAG_DOMAINS}
    if settings.gradual_migration:
        flags["movies"]["mode"] = "gradual"
        flags["movies"]["percent"] = max(0, min(100, int(settings.movies_migration_percent)))
    return flags


def _int_in(name: str, value: Any, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidInput(f"{name} must be an integer")
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(f"{name} must be an integer") from None
    if number < low or (high is not None and number > high):
        bound = f"{low}..{high}" if high is not None else f">= {low}"
        raise InvalidInput(f"{name} must be {bound}")
    return number


def _bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "1", "yes", "on", "false", "0", "no", "off"}:
        return value.lower() in {"true", "1", "yes", "on"}
    raise InvalidInput(f"{name} must be a boolean")


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InvalidInput(f"{name} must be one of {', '.join(choices)}")
    return value


def _rate(value: Any) -> float:
    if isinstance(value, bool):
        raise InvalidInput("rollback_error_rate must be a number in (0, 1]")
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise InvalidInput("rollback_error_rate must be a number in (0, 1]") from None
    if not 0 < rate <= 1:
        raise InvalidInput("rollback_error_rate must be a number in (0, 1]")
    return rate


_VALIDATORS = {
    "mode": lambda v: _choice("mode", v, FLAG_MODES),
    "percent": lambda v: _int_in("percent", v, 0, 100),
    "sticky_key": lambda v: _choice("sticky_key", v, STICKY_KEYS),
    "fallback": lambda v: _bool("fallback", v),
    "auto_rollback": lambda v: _bool("auto_rollback", v),
    "rollback_error_rate": _rate,
    "rollback_min_requests": lambda v: _int_in("rollback_min_requests", v, 1, None),
    "shadow_percent": lambda v: _int_in("shadow_percent", v, 0, 100),
}


def validate_domain(domain: str) -> str:
    """``domain`` if it names a flagged domain, else :class:`InvalidInput`."""
    if domain not in FLAG_DOMAINS:
        raise InvalidInput(f"unknown domain {domain!r}; expected one of {', '.join(FLAG_DOMAINS)}")
    return domain


def validate_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Cast and check a partial flag update; unknown fields and bad values raise :class:`InvalidInput`."""
    unknown = sorted(set(changes) - set(_VALIDATORS))
    if unknown:
        raise InvalidInput(f"unknown flag field(s): {', '.join(unknown)}")
    return {name: _VALIDATORS[name](value) for name, value in changes.items()}


def _as_dict(row: MigrationFlag) -> dict[str, Any]:
    flag: dict[str, Any] = {"domain": row.domain}
    flag.update({name: getattr(row, name) for name in FLAG_FIELDS})
    flag["updated_at"] = row.updated_at.isoformat() if isinstance(row.updated_at, datetime) else None
    flag["updated_by"] = row.updated_by
    flag["persisted"] = True
    return flag


def _default(domain: str, settings: Settings) -> dict[str, Any]:
    return {**initial_flags(settings)[domain], "updated_at": None, "updated_by": None, "persisted": False}


def list_flags(*, url: str | None = None, settings: Settings | None = None) -> list[dict[str, Any]]:
    """One flag per domain (movies, users, payments); defaults where no row exists yet."""
    settings = settings or get_settings()
    with read_session(url) as session:
        rows = {row.domain: _as_dict(row) for row in session.scalars(select(MigrationFlag))}
    return [rows[d] if d in rows else _default(d, settings) for d in FLAG_DOMAINS]


def get_flag(domain: str, *, url: str | None = None, settings: Settings | None = None) -> dict[str, Any]:
    """The flag of ``domain`` (defaults when no row exists yet)."""
    validate_domain(domain)
    settings = settings or get_settings()
    with read_session(url) as session:
        row = session.get(MigrationFlag, domain)
        return _as_dict(row) if row is not None else _default(domain, settings)


def _lock_row(session: Session, domain: str, settings: Settings) -> MigrationFlag:
    """The flag row of ``domain``, created from the initial values if absent, locked for update."""
    initial = {k: v for k, v in initial_flags(settings)[domain].items() if k in FLAG_FIELDS}
    session.execute(
        insert(MigrationFlag).values(domain=domain, **initial).on_conflict_do_nothing(index_elements=["domain"])
    )
    return session.scalars(select(MigrationFlag).where(MigrationFlag.domain == domain).with_for_update()).one()


def _routing(flag: dict[str, Any]) -> dict[str, Any]:
    return {name: flag[name] for name in FLAG_FIELDS}


def set_flag(domain: str, changes: dict[str, Any], actor: str, reason: str | None = None, *,
             action: str = "flag.changed", url: str | None = None,
             settings: Settings | None = None) -> dict[str, Any]:
    """Apply ``changes`` to ``domain``'s flag, audit it and notify every proxy; returns the new flag.

    Row upsert, audit row and ``pg_notify`` share one transaction: the proxies hear about the
    change exactly when it commits.
    """
    validate_domain(domain)
    clean = validate_changes(changes)
    settings = settings or get_settings()
    with unit_of_work(url) as uow:
        session = uow.session
        row = _lock_row(session, domain, settings)
        before = _routing(_as_dict(row))
        for name, value in clean.items():
            setattr(row, name, value)
        row.updated_at = func.now()
        row.updated_by = actor[:100]
        session.flush()
        session.refresh(row)
        after = _as_dict(row)
        session.add(FlagAudit(actor=actor[:100], action=action, domain=domain, before=before,
                              after=_routing(after), reason=reason))
        session.execute(text("SELECT pg_notify(:channel, :domain)"), {"channel": NOTIFY_CHANNEL, "domain": domain})
    return after


def rollback(domain: str, actor: str, reason: str = "manual rollback", *, url: str | None = None,
             settings: Settings | None = None) -> dict[str, Any]:
    """Send all of ``domain``'s traffic back to the monolith (mode monolith, percent 0)."""
    return set_flag(domain, {"mode": "monolith", "percent": 0}, actor, reason, url=url, settings=settings)


def flag_history(domain: str | None = None, limit: int = 50, *, url: str | None = None) -> list[dict[str, Any]]:
    """Audit rows of flag changes (manual and automatic), newest first."""
    if domain is not None:
        validate_domain(domain)
    query = select(FlagAudit).where(FlagAudit.action.like("flag.%")).order_by(FlagAudit.id.desc())
    if domain is not None:
        query = query.where(FlagAudit.domain == domain)
    query = query.limit(max(1, min(int(limit), 1000)))
    with read_session(url) as session:
        return [
            {"id": a.id, "at": a.at.isoformat(), "actor": a.actor, "action": a.action, "domain": a.domain,
             "before": a.before, "after": a.after, "reason": a.reason}
            for a in session.scalars(query)
        ]
