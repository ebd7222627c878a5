"""Sign-up and login: password hashing, credential checks and token issue.

Passwords are hashed with argon2id. A wrong password and an unknown username produce the
same error, and an unknown username still costs one hash verification, so neither the
answer nor its timing tells whether an account exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from domain_services.shared import validation as v
from domain_services.shared.db import read_session, unit_of_work
from domain_services.shared.errors import InvalidInput, TooManyRequests, Unauthorized
from domain_services.shared.outbox import add_event
from domain_services.shared.tokens import InvalidToken, issue_token, verify_token
from domain_services.users import services
from domain_services.users.models import User
from domain_services.users.throttle import LoginThrottle

MIN_PASSWORD = 8
MAX_PASSWORD = 128
BAD_CREDENTIALS = "invalid username or password"
_hasher = PasswordHasher()


@dataclass(frozen=True)
class TokenSigner:
    """What login needs to issue tokens: the signing key, its public half and the lifetime."""

    private_pem: str
    public_pem: str
    ttl_seconds: int


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist (equalises timing)."""
    return _hasher.hash("not-a-real-password-only-for-timing")


def validate_password(data: dict[str, Any]) -> str:
    """8..128 characters; not stripped (spaces are legitimate password characters)."""
    password = v.get_field(data, "password")
    if not isinstance(password, str):
        raise InvalidInput("field password must be a string")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(f"field password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters")
    if "\x00" in password:
        raise InvalidInput("field password must not contain NUL characters")
    return password


def register(data: Any) -> dict[str, Any]:
    """Create an account with a password; duplicate username/email → 409; emits ``user.registered``."""
    data = v.require_object(data)
    services.validate_username(data)
    services.validate_email(data)
    password_hash = _hasher.hash(validate_password(data))
    return services.create_user(data, password_hash=password_hash, event="user.registered")


def login(data: Any, signer: TokenSigner, throttle: LoginThrottle) -> dict[str, Any]:
    """Check credentials and issue a token; emits ``user.logged_in``.

    Unknown user and wrong password → the same :class:`Unauthorized`; after too many
    failures for one username → :class:`TooManyRequests` until the window passes.
    """
    data = v.require_object(data)
    username = v.text(data, "username", max_length=50)
    password = v.get_field(data, "password")
    if not isinstance(password, str):
        raise InvalidInput("field password must be a string")
    if throttle.is_blocked(username):
        raise TooManyRequests("too many failed logins for this username; try again later")
    user = _check_credentials(username, password)
    if user is None:
        throttle.record_failure(username)
        raise Unauthorized(BAD_CREDENTIALS)
    throttle.reset(username)
    user_id = user.pop("id")
    with unit_of_work() as uow:
        if _hasher.check_needs_rehash(user.pop("password_hash")):  # parameters were raised since
            uow.session.get(User, user_id).password_hash = _hasher.hash(password)
        add_event(uow, "user.logged_in", user_id, {"user_id": user_id, "username": user["username"]}, services.SOURCE)
    return {
        "token": issue_token(user_id, signer.private_pem, signer.ttl_seconds),
        "token_type": "Bearer",
        "expires_in": signer.ttl_seconds,
        "user": {"id": user_id, **user},
    }


def _check_credentials(username: str, password: str) -> dict[str, Any] | None:
    """The user (plus ``password_hash``) if ``password`` is theirs, else None (always one hash check)."""
    with read_session() as session:
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        found = {**services.to_dict(user), "password_hash": user.password_hash} if user is not None else None
    stored = found["password_hash"] if found is not None and found["password_hash"] else None
    try:
        _hasher.verify(stored or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return found if stored else None


def current_user(authorization: str | None, public_pem: str) -> dict[str, Any]:
    """The user a ``Bearer`` token in the ``Authorization`` header names, else :class:`Unauthorized`."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    try:
        user_id = verify_token(token.strip(), public_pem)
    except InvalidToken as exc:
        raise Unauthorized(exc.message) from None
    with read_session() as session:
        user = session.get(User, user_id)
        if user is None:
            raise Unauthorized("token subject no longer exists")
        return services.to_dict(user)
