"""Users service functions: account rules live here once.

The writes take the unit of work they run in as ``uow`` (a factory opening one), so the rules
run the same over PostgreSQL and over a fake in a unit test (cosmicpython's ``bootstrap``):
the HTTP entry point passes the one its app was composed with (:data:`api.UOW_EXTENSION`,
:func:`kernel.db.unit_of_work` unless the composition root chose another); other callers get
the real one by default.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain_services.users import sessions
from domain_services.users.models import User
from kernel import validation as v
from kernel.db import UnitOfWork, read_session, unit_of_work
from kernel.errors import Conflict, Forbidden, InvalidInput, NotFound
from kernel.identity import SYSTEM, Identity, require_owner
from kernel.integrity import translate
from kernel.outbox import add_event
from kernel.pagination import EVERYTHING, Page
from kernel.tokens import ROLES

SOURCE = "users"
#: Opens a unit of work (commit on success, roll back on error): :func:`kernel.db.unit_of_work`.
UnitOfWorkFactory = Callable[[], AbstractContextManager[UnitOfWork]]
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,50}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CONSTRAINTS = {
    "users_username_key": Conflict("username already taken"),
    "users_email_key": Conflict("email already registered"),
}


def to_dict(user: User) -> dict[str, Any]:
    """The contract representation ``{id, username, email}``."""
    return {"id": user.id, "username": user.username, "email": user.email}


def visible_dict(user: User, viewer: Identity) -> dict[str, Any]:
    """What ``viewer`` may see of ``user``: the e-mail only for the user themself or an admin.

    The key stays (``null``), so the legacy shape ``{id, username, email}`` holds for everyone.
    """
    shown = to_dict(user)
    if not viewer.may_act_for(user.id):
        shown["email"] = None
    return shown


def validate_username(data: dict[str, Any]) -> str:
    """3..50 characters of letters, digits, ``_ . -``."""
    username = v.text(data, "username", max_length=50)
    if not USERNAME_RE.match(username):
        raise InvalidInput("field username must be 3-50 characters of letters, digits, '_', '.', '-'")
    return username


def validate_email(data: dict[str, Any]) -> str:
    """A plausible address, stored lower-cased so uniqueness ignores case."""
    email = v.text(data, "email", max_length=255)
    if not EMAIL_RE.match(email):
        raise InvalidInput("field email must be an e-mail address")
    return email.lower()


def list_users(
    page: Page = EVERYTHING, *, search: str | None = None, viewer: Identity = SYSTEM
) -> list[dict[str, Any]]:
    """Users ordered by id, optionally filtered by a substring, optionally paged.

    The search covers e-mails only for privileged viewers; anyone else could otherwise probe
    which addresses are registered.
    """
    query = select(User).order_by(User.id)
    if search:
        pattern = f"%{search.replace('%', '').replace('_', '')}%"
        matches = User.username.ilike(pattern)
        query = query.where(matches | User.email.ilike(pattern) if viewer.is_privileged else matches)
    query = page.apply(query)
    with read_session() as session:
        return [visible_dict(u, viewer) for u in session.scalars(query)]


def load_user(session: Session, user_id: int) -> User:
    """The user row or :class:`NotFound`."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def id_of(username: str) -> int:
    """The id of the user called ``username`` (exact match) or :class:`NotFound`."""
    with read_session() as session:
        user_id = session.scalar(select(User.id).where(User.username == username))
    if user_id is None:
        raise NotFound(f"user {username} not found")
    return user_id


def get_user(user_id: int, *, viewer: Identity = SYSTEM) -> dict[str, Any]:
    """One user (as ``viewer`` may see them) or :class:`NotFound`."""
    with read_session() as session:
        return visible_dict(load_user(session, user_id), viewer)


def create_user(data: Any, *, password_hash: str | None = None, event: str = "user.created",
                uow: UnitOfWorkFactory = unit_of_work) -> dict[str, Any]:
    """Insert a user; duplicate username/email → :class:`Conflict`; emits ``event``."""
    data = v.require_object(data)
    username, email = validate_username(data), validate_email(data)
    try:
        with uow() as work:
            user = User(username=username, email=email, password_hash=password_hash)
            work.session.add(user)
            work.session.flush()
            result = to_dict(user)
            add_event(work, event, user.id, {"user_id": user.id, "username": username, "email": email}, SOURCE)
    except IntegrityError as exc:
        raise translate(exc, _CONSTRAINTS) from None
    return result


def update_user(user_id: int, data: Any, *, actor: Identity = SYSTEM,
                uow: UnitOfWorkFactory = unit_of_work) -> dict[str, Any]:
    """Change username and/or email (the user or an admin); role and ``disabled`` (admins only).

    Disabling a user or changing their role revokes their tokens in the same transaction.
    Emits ``user.updated``.
    """
    data = v.require_object(data)
    require_owner(actor, user_id, f"user {user_id}")
    if ("role" in data or "disabled" in data) and actor.role != "admin":
        raise Forbidden("only an admin may change a user's role or disable a user")
    try:
        with uow() as work:
            user = load_user(work.session, user_id)
            if "username" in data:
                user.username = validate_username(data)
            if "email" in data:
                user.email = validate_email(data)
            if "role" in data:
                role = v.choice(data, "role", ROLES)
                if role != user.role:  # tokens carry the old role: a demotion must bite at once
                    user.role = role
                    sessions.revoke_user_tokens(work.session, user_id, "role changed")
            if "disabled" in data:
                user.disabled = bool(v.boolean(data, "disabled"))
                if user.disabled:
                    sessions.revoke_user_tokens(work.session, user_id, "user disabled")
            work.session.flush()
            result = to_dict(user)
            add_event(work, "user.updated", user.id, {"user_id": user.id, **result}, SOURCE)
    except IntegrityError as exc:
        raise translate(exc, _CONSTRAINTS) from None
    return result


def delete_user(user_id: int, *, actor: Identity = SYSTEM, uow: UnitOfWorkFactory = unit_of_work) -> None:
    """Delete a user with no payments or subscriptions (the user or an admin); emits ``user.deleted``.

    Their tokens are revoked in the same transaction, so they stop working at every gateway.
    """
    require_owner(actor, user_id, f"user {user_id}")
    try:
        with uow() as work:
            user = load_user(work.session, user_id)
            work.session.delete(user)
            work.session.flush()
            sessions.revoke_user_tokens(work.session, user_id, "user deleted")
            add_event(work, "user.deleted", user_id, {"user_id": user_id}, SOURCE)
    except IntegrityError:
        raise Conflict(f"user {user_id} still has payments, subscriptions or ratings") from None
