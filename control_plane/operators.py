"""Operator accounts: create, authenticate, change; argon2 hashes; every change audited.

Used by the login view, the operators admin view and the ``create-operator`` /
``ensure-admin`` CLI commands, so the rules (role names, password length) live here once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from control_plane import audit_log
from control_plane.login_limits import LoginLimits
from control_plane.models import OPERATOR_ROLES, Operator
from kernel.db import read_session, unit_of_work
from kernel.errors import Conflict, InvalidInput, NotFound, Unauthorized
from kernel.models import FlagAudit

MIN_PASSWORD = 10
LOGOUT = "operator.logout"
_hasher = PasswordHasher()
# Verified against when the username is unknown, so both paths cost one argon2 verify.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class OperatorInfo:
    """An operator as the console sees it (never the hash)."""

    id: int
    username: str
    role: str
    active: bool


def _info(row: Operator) -> OperatorInfo:
    return OperatorInfo(id=row.id, username=row.username, role=row.role, active=row.active)


def generate_password() -> str:
    """A random password for a new account (printed once by the CLI)."""
    return secrets.token_urlsafe(15)


def _check_role(role: str) -> str:
    if role not in OPERATOR_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(OPERATOR_ROLES)}")
    return role


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD} characters")
    return password


def _check_username(username: str) -> str:
    username = (username or "").strip()
    if not 2 <= len(username) <= 100:
        raise InvalidInput("username must have 2-100 characters")
    return username


def create_operator(username: str, role: str, password: str, *, actor: str = "system") -> OperatorInfo:
    """Create an account; duplicate username → :class:`Conflict`; audited as ``operator.created``."""
    username, role = _check_username(username), _check_role(role)
    password_hash = _hasher.hash(_check_password(password))
    try:
        with unit_of_work() as uow:
            row = Operator(username=username, role=role, password_hash=password_hash, active=True)
            uow.session.add(row)
            uow.session.flush()
            info = _info(row)
    except IntegrityError:
        raise Conflict(f"operator {username!r} already exists") from None
    audit_log.record(actor, "operator.created", after={"username": username, "role": role})
    return info


def update_operator(operator_id: int, changes: dict[str, Any], *, actor: str) -> OperatorInfo:
    """Change role, active flag and/or password; audited as ``operator.changed`` (no hashes logged)."""
    with unit_of_work() as uow:
        row = uow.session.get(Operator, operator_id)
        if row is None:
            raise NotFound(f"operator {operator_id} not found")
        before = {"role": row.role, "active": row.active}
        if "role" in changes:
            row.role = _check_role(changes["role"])
        if "active" in changes:
            row.active = bool(changes["active"])
        if changes.get("password"):
            row.password_hash = _hasher.hash(_check_password(changes["password"]))
        after = {"role": row.role, "active": row.active, "password_changed": bool(changes.get("password"))}
        info = _info(row)
    audit_log.record(actor, "operator.changed", before={"username": info.username, **before},
                     after={"username": info.username, **after})
    return info


def delete_operator(operator_id: int, *, actor: str) -> None:
    """Remove an account; audited as ``operator.changed`` with ``deleted``."""
    with unit_of_work() as uow:
        row = uow.session.get(Operator, operator_id)
        if row is None:
            raise NotFound(f"operator {operator_id} not found")
        before = {"username": row.username, "role": row.role, "active": row.active}
        uow.session.delete(row)
    audit_log.record(actor, "operator.changed", before=before, after={"deleted": True}, reason="deleted")


def session_operator(operator_id: int, login_at: float) -> OperatorInfo | None:
    """The active operator of a session opened at ``login_at`` (epoch s), or None if revoked.

    A logout or a password change revokes every session of that operator opened before it:
    the ``operator.logout`` / ``operator.changed`` audit row is the per-operator session
    version, so a cookie replayed afterwards (on any worker or process) no longer loads a user.
    Only audit rows newer than the session are scanned (the ``at`` index), so the check stays
    cheap however long the trail grows.
    """
    opened = datetime.fromtimestamp(login_at, UTC)
    with read_session() as session:
        row = session.get(Operator, operator_id)
        if row is None or not row.active:
            return None
        logged_out = (FlagAudit.action == LOGOUT) & (FlagAudit.actor == row.username)
        password_changed = ((FlagAudit.action == "operator.changed")
                            & (FlagAudit.after["username"].astext == row.username)
                            & (FlagAudit.after["password_changed"].astext == "true"))
        revoked = session.scalar(select(FlagAudit.id).where(
            FlagAudit.at >= opened, or_(logged_out, password_changed)).limit(1))
        return None if revoked is not None else _info(row)


def logout(info: OperatorInfo, ip: str) -> None:
    """End every session of ``info`` (audited as ``operator.logout``, which :func:`session_operator` reads)."""
    audit_log.record(info.username, LOGOUT, after={"ip": ip})


def find_by_username(username: str) -> OperatorInfo | None:
    """An operator by username, active or not."""
    with read_session() as session:
        row = session.scalars(select(Operator).where(Operator.username == username)).first()
        return _info(row) if row is not None else None


def authenticate(username: str, password: str, ip: str, limits: LoginLimits | None = None) -> OperatorInfo:
    """Verify a login; throttled per username+IP and per IP (``limits``, before any check); audited.

    Raises :class:`TooManyRequests` once a window is used up (no password check, no audit row)
    and :class:`Unauthorized` for wrong credentials (same message whether or not the user exists).
    A failed login of an unknown username is audited under the actor ``-``: the actor column only
    ever names real operators, never a string an attacker picked.
    """
    username = (username or "").strip()[:100]
    if limits is not None:
        limits.take(username, ip)
    with unit_of_work() as uow:
        row = uow.session.scalars(select(Operator).where(Operator.username == username)).first()
        ok = _verify(row.password_hash if row is not None else _DUMMY_HASH, password or "")
        known = row is not None
        ok = ok and known and row.active
        if ok:
            row.last_login_at = func.now()
            if _hasher.check_needs_rehash(row.password_hash):
                row.password_hash = _hasher.hash(password)
            info = _info(row)
    if not ok:
        audit_log.record(username if known else "-", "operator.login_failed", after={"ip": ip[:64]})
        raise Unauthorized("invalid username or password")
    if limits is not None:
        limits.succeeded(username, ip)
    audit_log.record(info.username, "operator.login", after={"ip": ip[:64], "role": info.role})
    return info


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
