"""Users service functions: account rules live here once."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain_services.shared import validation as v
from domain_services.shared.db import read_session, unit_of_work
from domain_services.shared.errors import Conflict, InvalidInput, NotFound
from domain_services.shared.integrity import translate
from domain_services.shared.outbox import add_event
from domain_services.shared.pagination import EVERYTHING, Page
from domain_services.users.models import User

SOURCE = "users"
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,50}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CONSTRAINTS = {
    "users_username_key": Conflict("username already taken"),
    "users_email_key": Conflict("email already registered"),
}


def to_dict(user: User) -> dict[str, Any]:
    """The contract representation ``{id, username, email}``."""
    return {"id": user.id, "username": user.username, "email": user.email}


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


def list_users(page: Page = EVERYTHING, *, search: str | None = None) -> list[dict[str, Any]]:
    """Users ordered by id, optionally filtered by username/email substring, optionally paged."""
    query = select(User).order_by(User.id)
    if search:
        pattern = f"%{search.replace('%', '').replace('_', '')}%"
        query = query.where(User.username.ilike(pattern) | User.email.ilike(pattern))
    query = page.apply(query)
    with read_session() as session:
        return [to_dict(u) for u in session.scalars(query)]


def load_user(session: Session, user_id: int) -> User:
    """The user row or :class:`NotFound`."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def get_user(user_id: int) -> dict[str, Any]:
    """One user or :class:`NotFound`."""
    with read_session() as session:
        return to_dict(load_user(session, user_id))


def create_user(data: Any, *, password_hash: str | None = None, event: str = "user.created") -> dict[str, Any]:
    """Insert a user; duplicate username/email → :class:`Conflict`; emits ``event``."""
    data = v.require_object(data)
    username, email = validate_username(data), validate_email(data)
    try:
        with unit_of_work() as uow:
            user = User(username=username, email=email, password_hash=password_hash)
            uow.session.add(user)
            uow.session.flush()
            result = to_dict(user)
            add_event(uow, event, user.id, {"user_id": user.id, "username": username, "email": email}, SOURCE)
    except IntegrityError as exc:
        raise translate(exc, _CONSTRAINTS) from None
    return result


def update_user(user_id: int, data: Any) -> dict[str, Any]:
    """Change username and/or email; emits ``user.updated``."""
    data = v.require_object(data)
    try:
        with unit_of_work() as uow:
            user = load_user(uow.session, user_id)
            if "username" in data:
                user.username = validate_username(data)
            if "email" in data:
                user.email = validate_email(data)
            uow.session.flush()
            result = to_dict(user)
            add_event(uow, "user.updated", user.id, {"user_id": user.id, **result}, SOURCE)
    except IntegrityError as exc:
        raise translate(exc, _CONSTRAINTS) from None
    return result


def delete_user(user_id: int) -> None:
    """Delete a user with no payments or subscriptions; emits ``user.deleted``."""
    try:
        with unit_of_work() as uow:
            user = load_user(uow.session, user_id)
            uow.session.delete(user)
            uow.session.flush()
            add_event(uow, "user.deleted", user_id, {"user_id": user_id}, SOURCE)
    except IntegrityError:
        raise Conflict(f"user {user_id} still has payments, subscriptions or ratings") from None
