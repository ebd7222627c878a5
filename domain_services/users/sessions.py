"""Sessions: token pairs, refresh with rotation, logout and revocation.

A login issues a short-lived access token and a refresh token. Each refresh token is
recorded by its ``jti`` and works exactly once: ``POST /api/auth/refresh`` marks it used and
returns a new pair. Presenting a used refresh token again means it was copied, so every
token of that user is revoked (the thief and the owner both have to log in again).

Revocation is per user (``token_revocations.not_before``, see
``kernel/revocations.py``): logout, ``POST /api/auth/revoke`` and deleting or
disabling a user refuse every token issued before that moment, at every gateway within
seconds (they LISTEN) and here (the users service checks the row itself).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from domain_services.users.models import RefreshToken, User
from kernel import revocations
from kernel import validation as v
from kernel.db import UnitOfWork, read_session, unit_of_work
from kernel.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from kernel.identity import ANONYMOUS_IDENTITY, Identity, require_user
from kernel.tokens import REFRESH, InvalidToken, decode_claims, issue_token

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenSigner:
    """What issuing tokens needs: the signing key, its public half and both lifetimes."""

    private_pem: str
    public_pem: str
    ttl_seconds: int
    refresh_ttl_seconds: int


def revoke_user_tokens(session: Session, user_id: int, reason: str, *, now: float | None = None) -> float:
    """Refuse ``user_id``'s tokens issued before ``now`` (row + NOTIFY, in the caller's transaction)."""
    params = revocations.revoke_params(user_id, reason, now=now)
    return float(session.connection().exec_driver_sql(revocations.REVOKE, params).scalar_one())


def not_before(session: Session, user_id: int) -> float | None:
    """The user's revocation cut-off, if any."""
    row = session.connection().exec_driver_sql(revocations.SELECT_ONE, {"user_id": user_id}).first()
    return None if row is None else float(row[0])


def issue_pair(uow: UnitOfWork, user: User, signer: TokenSigner) -> dict[str, Any]:
    """A new access + refresh token for ``user``; the refresh token's ``jti`` is recorded in ``uow``."""
    refresh = issue_token(user.id, signer.private_pem, signer.refresh_ttl_seconds, role=user.role, kind=REFRESH)
    claims = decode_claims(refresh, signer.public_pem, kind=REFRESH)
    # Spent rows are kept until they expire (to recognise a reused token); then they go.
    uow.session.execute(delete(RefreshToken).where(RefreshToken.user_id == user.id,
                                                   RefreshToken.expires_at < datetime.now(UTC)))
    uow.session.add(RefreshToken(
        jti=claims["jti"], user_id=user.id, expires_at=datetime.fromtimestamp(claims["exp"], UTC),
    ))
    return {
        "token": issue_token(user.id, signer.private_pem, signer.ttl_seconds, role=user.role),
        "token_type": "Bearer",
        "expires_in": signer.ttl_seconds,
        "refresh_token": refresh,
        "refresh_expires_in": signer.refresh_ttl_seconds,
    }


def _active_user(session: Session, user_id: int, issued_at: float, *, lock: bool = False) -> User:
    """The token's user if it still exists, is enabled and the token predates no revocation."""
    user = session.get(User, user_id, with_for_update=lock)
    if user is None:
        raise Unauthorized("token subject no longer exists")
    if user.disabled:
        raise Unauthorized("account disabled")
    cutoff = not_before(session, user_id)
    if cutoff is not None and issued_at < cutoff:
        raise Unauthorized("token revoked")
    return user


def _spend(session: Session, jti: str, user_id: int) -> bool:
    """Mark the refresh token used; False when it is unknown or was used before."""
    return session.execute(
        update(RefreshToken)
        .where(RefreshToken.jti == jti, RefreshToken.user_id == user_id, RefreshToken.used_at.is_(None))
        .values(used_at=datetime.now(UTC))
        .returning(RefreshToken.jti)
    ).first() is not None


def refresh(data: Any, signer: TokenSigner) -> dict[str, Any]:
    """Exchange a refresh token ``{refresh_token}`` for a new pair (the old one is spent)."""
    data = v.require_object(data)
    token = v.get_field(data, "refresh_token")
    if not isinstance(token, str):
        raise InvalidInput("field refresh_token must be a string")
    try:
        claims = decode_claims(token, signer.public_pem, kind=REFRESH)
    except InvalidToken as exc:
        raise Unauthorized(exc.message) from None
    user_id, jti = int(claims["sub"]), claims["jti"]
    with unit_of_work() as uow:
        # The row lock serialises two refreshes of one user, so one token cannot be spent twice.
        user = _active_user(uow.session, user_id, float(claims["iat"]), lock=True)
        if _spend(uow.session, jti, user_id):
            return issue_pair(uow, user, signer)
        reused = uow.session.get(RefreshToken, jti) is not None
        if reused:  # a copy of a spent token is in someone's hands: end every session of this user
            revoke_user_tokens(uow.session, user_id, "refresh token reused")
            log.warning("user %s: a spent refresh token was presented again; all tokens revoked", user_id)
    raise Unauthorized("refresh token already used; log in again" if reused else "unknown refresh token")


def logout(identity: Identity) -> dict[str, Any]:
    """End every session of the caller: all their tokens issued until now are refused."""
    user_id = require_user(identity)
    with unit_of_work() as uow:
        cutoff = revoke_user_tokens(uow.session, user_id, "logout")
    return {"user_id": user_id, "not_before": cutoff}


def revoke(identity: Identity, data: Any) -> dict[str, Any]:
    """``POST /api/auth/revoke {user_id?}``: an admin revokes anyone's tokens, a user their own."""
    caller = require_user(identity)
    data = v.require_object(data) if data is not None else {}
    target = v.integer(data, "user_id", required=False, minimum=1) or caller
    if target != caller and identity.role != "admin":
        raise Forbidden("only an admin may revoke another user's tokens")
    with unit_of_work() as uow:
        if uow.session.get(User, target) is None:
            raise NotFound(f"user {target} not found")
        cutoff = revoke_user_tokens(uow.session, target, "revoked by admin" if target != caller else "revoked")
    return {"user_id": target, "not_before": cutoff}


def identity_of_bearer(authorization: str | None, public_pem: str) -> Identity:
    """The identity of an ``Authorization: Bearer`` access token, checked against the database.

    No header → anonymous. A token that is invalid, revoked, or whose user was deleted or
    disabled → :class:`Unauthorized`.
    """
    if not authorization:
        return ANONYMOUS_IDENTITY
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    try:
        claims = decode_claims(token.strip(), public_pem)
    except InvalidToken as exc:
        raise Unauthorized(exc.message) from None
    with read_session() as session:
        user = _active_user(session, int(claims["sub"]), float(claims["iat"]))
        return Identity(user.id, user.role)
