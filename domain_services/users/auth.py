"""Sign-up and login: password hashing, credential checks and token issue.

Passwords are hashed with argon2id. A wrong password and an unknown username produce the
same error, and an unknown username still costs one hash verification, so neither the
answer nor its timing tells whether an account exists.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from domain_services.users import services, sessions
from domain_services.users.models import User
from domain_services.users.sessions import TokenSigner
from domain_services.users.throttle import PasswordThrottle
from kernel import validation as v
from kernel.db import read_session, unit_of_work
from kernel.errors import Conflict, Forbidden, InvalidInput, Unauthorized
from kernel.outbox import add_event

MIN_PASSWORD = 8
MAX_PASSWORD = 128
BAD_CREDENTIALS = "invalid username or password"
#: The one answer to a sign-up that collides: which of the two collided is not told, so the
#: form does not confirm that an address has an account (and the address budget bounds probes).
NOT_AVAILABLE = "username or email already registered"
_hasher = PasswordHasher()


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


def register(data: Any, throttle: PasswordThrottle, address: str) -> dict[str, Any]:
    """Create an account with a password; duplicate username/email → 409; emits ``user.registered``.

    Valid input first (free), then the address's sign-up budget, then one hash in a gate slot.
    """
    data = v.require_object(data)
    services.validate_username(data)
    services.validate_email(data)
    password = validate_password(data)
    throttle.check_signup(address)
    with throttle.gate.slot(address):
        password_hash = _hasher.hash(password)
    try:
        return services.create_user(data, password_hash=password_hash, event="user.registered")
    except Conflict:
        raise Conflict(NOT_AVAILABLE) from None


def login(data: Any, signer: TokenSigner, throttle: PasswordThrottle, address: str) -> dict[str, Any]:
    """Check credentials and issue an access + refresh token pair; emits ``user.logged_in``.

    Unknown user and wrong password → the same :class:`Unauthorized`. Before any password
    check, :class:`TooManyRequests` (with ``Retry-After``) when the address has used up its
    checks, when every check slot of this process is taken, or when this username has used
    up its attempts from this address. A disabled account → :class:`Forbidden` (only with
    the right password).
    """
    data = v.require_object(data)
    username = v.text(data, "username", max_length=50)
    password = v.get_field(data, "password")
    if not isinstance(password, str):
        raise InvalidInput("field password must be a string")
    if len(password) > MAX_PASSWORD:  # no account has a longer one; spare the hash
        raise Unauthorized(BAD_CREDENTIALS)
    throttle.check_address(address)
    # The attempt is counted only once a slot is held: a flood that fills the gate must not
    # use up the owner's attempts.
    with throttle.gate.slot(address):
        throttle.attempt(username, address)
        user = _check_credentials(username, password)
    if user is None:
        raise Unauthorized(BAD_CREDENTIALS)
    throttle.succeeded(username, address)
    if user["disabled"]:
        raise Forbidden("account disabled")
    with unit_of_work() as uow:
        row = uow.session.get(User, user["id"])
        if row is None:  # deleted between the check and now
            raise Unauthorized(BAD_CREDENTIALS)
        if _hasher.check_needs_rehash(user["password_hash"]):  # parameters were raised since
            row.password_hash = _hasher.hash(password)
        add_event(uow, "user.logged_in", row.id, {"user_id": row.id, "username": row.username}, services.SOURCE)
        tokens = sessions.issue_pair(uow, row, signer)
    return {**tokens, "user": services.to_dict(row)}


def _check_credentials(username: str, password: str) -> dict[str, Any] | None:
    """The user's ``id``, ``password_hash`` and ``disabled`` if ``password`` is theirs, else None.

    Always one hash verification, whether the user exists or not.
    """
    with read_session() as session:
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        found = ({"id": user.id, "password_hash": user.password_hash, "disabled": user.disabled}
                 if user is not None else None)
    stored = found["password_hash"] if found is not None and found["password_hash"] else None
    try:
        _hasher.verify(stored or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return found if stored else None


def current_user(authorization: str | None, public_pem: str) -> dict[str, Any]:
    """The user a ``Bearer`` access token names (not revoked, not disabled), else :class:`Unauthorized`."""
    identity = sessions.identity_of_bearer(authorization, public_pem)
    if identity.is_anonymous:
        raise Unauthorized("missing bearer token")
    return services.get_user(identity.user_id, viewer=identity)
