"""Strangler flags: read, validate, change (with audit row and NOTIFY) and roll back.

Synchronous functions used by the console, the CLI and the rollout runner. The protocol
itself (columns, defaults, channel, SQL) lives in :mod:`strangler.flag_contract`,
which the gateway runs too (over psycopg, without the ORM); this module adds input
validation and runs the protocol on a SQLAlchemy connection.

A change writes the flag row, a ``flag_audit`` row and ``pg_notify('migration_flags',
'<domain>')`` in one transaction, so the notification is delivered exactly when (and only if)
the change commits.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.db import read_session, unit_of_work
from kernel.errors import InvalidInput
from kernel.models import FlagAudit
from kernel.registry import FLAGGED
from kernel.settings import Settings
from kernel.validation import parse_bool
from strangler import flag_contract as contract
from strangler.flag_contract import (
    FLAG_DEFAULTS,
    FLAG_FIELDS,
    NOTIFY_CHANNEL,
    STICKY_KEYS,
)

__all__ = ["FLAG_DEFAULTS", "FLAG_FIELDS", "NOTIFY_CHANNEL", "STICKY_KEYS", "flag_history", "get_flag",
           "initial_flags", "list_flags", "rollback", "set_flag", "validate_changes", "validate_domain"]


def initial_flags(settings: Settings | None) -> dict[str, dict[str, Any]]:
    """Per-domain flag values used while a domain has no row yet (see :func:`flag_contract.initial_flags`).

    The caller's settings may seed the movies flag (``GRADUAL_MIGRATION``); without settings
    the protocol's defaults apply. This module never reads the process settings itself: the
    console, the CLI and the rollout runner pass theirs in.
    """
    if settings is None:
        return contract.initial_flags()
    return contract.initial_flags(settings.gradual_migration, settings.movies_migration_percent)


def _int_in(name: str, value: Any, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidInput(f"{name} must be an integer")
    if isinstance(value, str) and not re.fullmatch(r"\s*-?[0-9]{1,10}\s*", value):
        raise InvalidInput(f"{name} must be an integer")  # int() also takes "٣", "1_0", "+1"
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
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return parse_bool(value)
    raise InvalidInput(f"{name} must be a boolean")


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise InvalidInput(f"{name} must be one of {', '.join(choices)}")
    return value


def _rate(name: str, value: Any) -> float:
    problem = f"{name} must be a number in (0, 1]"
    if isinstance(value, bool):
        raise InvalidInput(problem)
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(problem) from None
    if not 0 < rate <= 1:
        raise InvalidInput(problem)
    return rate


def _validator(spec: contract.FlagField) -> Callable[[Any], Any]:
    """The check of one declared field (:data:`flag_contract.FIELDS`)."""
    if spec.kind == "choice":
        return lambda value: _choice(spec.name, value, spec.choices)
    if spec.kind == "int":
        return lambda value: _int_in(spec.name, value, spec.low if spec.low is not None else 0, spec.high)
    if spec.kind == "bool":
        return lambda value: _bool(spec.name, value)
    if spec.kind == "rate":
        return lambda value: _rate(spec.name, value)
    raise ValueError(f"flag field {spec.name!r} has an unknown kind {spec.kind!r}")


_VALIDATORS: dict[str, Callable[[Any], Any]] = {spec.name: _validator(spec) for spec in contract.FIELDS}


def validate_domain(domain: str) -> str:
    """``domain`` if it names a flagged domain, else :class:`InvalidInput`."""
    if domain not in FLAGGED:
        raise InvalidInput(f"unknown domain {domain!r}; expected one of {', '.join(FLAGGED)}")
    return domain


def validate_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Cast and check a partial flag update; unknown fields and bad values raise :class:`InvalidInput`."""
    unknown = sorted(set(changes) - set(_VALIDATORS))
    if unknown:
        raise InvalidInput(f"unknown flag field(s): {', '.join(unknown)}")
    return {name: _VALIDATORS[name](value) for name, value in changes.items()}


def _public(flag: dict[str, Any]) -> dict[str, Any]:
    """A flag row as the console/CLI show it (ISO timestamp, ``persisted``)."""
    stamp = flag.get("updated_at")
    return {**flag, "updated_at": stamp.isoformat() if isinstance(stamp, datetime) else None, "persisted": True}


def _default(domain: str, settings: Settings | None) -> dict[str, Any]:
    return {**initial_flags(settings)[domain], "updated_at": None, "updated_by": None, "persisted": False}


def _rows(session: Session) -> dict[str, dict[str, Any]]:
    result = session.connection().exec_driver_sql(contract.SELECT_ALL_ROWS)
    return {row[0]: _public(contract.row_to_flag(row[0], row[1:])) for row in result}


def list_flags(*, url: str | None = None, settings: Settings | None = None) -> list[dict[str, Any]]:
    """One flag per domain (movies, users, payments); defaults where no row exists yet."""
    with read_session(url) as session:
        rows = _rows(session)
    return [rows[d] if d in rows else _default(d, settings) for d in FLAGGED]


def get_flag(domain: str, *, url: str | None = None, settings: Settings | None = None) -> dict[str, Any]:
    """The flag of ``domain`` (defaults when no row exists yet)."""
    validate_domain(domain)
    with read_session(url) as session:
        row = session.connection().exec_driver_sql(contract.SELECT_ONE, {"domain": domain}).fetchone()
    return _public(contract.row_to_flag(domain, row)) if row is not None else _default(domain, settings)


def _execute(session: Session):
    """``execute(sql, params) -> first row`` over the session's connection (psycopg underneath)."""
    conn = session.connection()

    def execute(sql: str, params: Any) -> tuple | None:
        result = conn.exec_driver_sql(sql, dict(params))
        return tuple(result.fetchone()) if result.returns_rows else None
    return execute


def set_flag(domain: str, changes: dict[str, Any], actor: str, reason: str | None = None, *,
             action: str = contract.ACTION_CHANGED, url: str | None = None,
             settings: Settings | None = None) -> dict[str, Any]:
    """Apply ``changes`` to ``domain``'s flag, audit it and notify every proxy; returns the new flag.

    Row upsert, audit row and ``pg_notify`` share one transaction: the proxies hear about the
    change exactly when it commits.
    """
    validate_domain(domain)
    clean = validate_changes(changes)
    steps = contract.change_steps(domain, clean, actor, initial=initial_flags(settings)[domain], action=action,
                                  reason=reason)
    with unit_of_work(url) as uow:
        after = contract.run_sync(steps, _execute(uow.session))
    return _public(after)


def rollback(domain: str, actor: str, reason: str = "manual rollback", *, url: str | None = None,
             settings: Settings | None = None) -> dict[str, Any]:
    """Send all of ``domain``'s traffic back to the monolith (mode monolith, percent 0)."""
    return set_flag(domain, contract.ROLLBACK_CHANGES, actor, reason, action=contract.ACTION_ROLLBACK, url=url,
                    settings=settings)


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
