"""Translate database constraint violations into domain errors.

The database is the arbiter of uniqueness and references (race-free); this module turns
its verdict into the message a client can act on.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.exc import IntegrityError

from kernel.errors import Conflict, DomainError, InvalidInput


def constraint_name(exc: IntegrityError) -> str | None:
    """The violated constraint's name as reported by PostgreSQL."""
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


def translate(exc: IntegrityError, messages: Mapping[str, DomainError]) -> DomainError:
    """The domain error registered for the violated constraint, or a generic one."""
    name = constraint_name(exc)
    if name in messages:
        return messages[name]
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate == "23505":
        return Conflict("already exists")
    return InvalidInput("the request violates a data constraint")
