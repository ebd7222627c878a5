"""Who is calling a domain service: the identity the gateway vouched for.

The gateway verifies the access token and passes its subject and role on as two headers,
``X-User-Id`` and ``X-User-Role``, after stripping any a client sent. Services never see
tokens; they read those headers through :func:`current_identity` and decide ownership
themselves. A request without them (a direct call to a service port, or an anonymous
request through the gateway) is anonymous.

A header a gateway would never send (a non-numeric id, an unknown role) is a bad request,
not an anonymous one, so a misconfigured caller hears about it (400) instead of silently
losing its rights. An id without a role header is a plain ``user``: gateways of the
previous release sent only the id.

An identity must carry the gateway's signature (:mod:`kernel.signed_identity`): without one,
or with a wrong or stale one, the request is refused with 401 — a direct call to a service
port cannot claim to be an admin. ``IDENTITY_UNSIGNED_ALLOWED`` (development only) accepts
unsigned identity. The console, CLI and consumers call domain functions in-process with
their own identity (:data:`SYSTEM`) and never pass through here.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from flask import current_app, request

from kernel import signed_identity
from kernel.errors import Forbidden, InvalidInput, Unauthorized
from kernel.settings import Settings
from kernel.tokens import PRIVILEGED, ROLES

USER_ID_HEADER = "X-User-Id"
ROLE_HEADER = "X-User-Role"
REQUEST_ID_HEADER = "X-Request-Id"
#: ``app.config`` key of the app's :class:`IdentityCheck` (set by the app factory).
CHECK_CONFIG = "IDENTITY_CHECK"
ANONYMOUS = "anonymous"
_MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Identity:
    """The caller: a user id and role, or ``Identity(None, "anonymous")``."""

    user_id: int | None
    role: str

    @property
    def is_anonymous(self) -> bool:
        """No verified user behind the request."""
        return self.user_id is None

    @property
    def is_privileged(self) -> bool:
        """Admins and services act on anyone's data."""
        return self.role in PRIVILEGED

    def may_act_for(self, user_id: int | None) -> bool:
        """Whether the caller may read or change data owned by ``user_id``."""
        return self.is_privileged or (self.user_id is not None and self.user_id == user_id)


ANONYMOUS_IDENTITY = Identity(None, ANONYMOUS)
#: In-process callers (console, CLI, consumers) that their own entry point already authorised.
SYSTEM = Identity(None, "admin")


def require_user(identity: Identity) -> int:
    """The caller's user id; :class:`Unauthorized` (401) when there is no user behind the call."""
    if identity.user_id is None:
        raise Unauthorized("authentication required")
    return identity.user_id


def require_owner(identity: Identity, owner_id: int | None, what: str) -> None:
    """Refuse unless the caller owns ``what`` or is privileged (401 anonymous, 403 someone else)."""
    if identity.may_act_for(owner_id):
        return
    if identity.is_anonymous:
        raise Unauthorized("authentication required")
    raise Forbidden(f"{what}: only its owner or an admin may do this")


def require_role(identity: Identity, roles: frozenset[str], action: str) -> None:
    """Refuse unless the caller has one of ``roles`` (401 anonymous, 403 otherwise)."""
    if identity.role in roles:
        return
    if identity.is_anonymous:
        raise Unauthorized("authentication required")
    raise Forbidden(f"{action} needs one of the roles: {', '.join(sorted(roles))}")


@dataclass(frozen=True)
class IdentityCheck:
    """How a service checks the gateway's signature on the identity headers."""

    secret: bytes
    allow_unsigned: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> IdentityCheck:
        """The check configured in settings (the secret generated on first use when unset)."""
        return cls(signed_identity.load_secret(settings), settings.identity_unsigned_allowed)


def identity_from_headers(headers: Mapping[str, str], check: IdentityCheck | None = None,
                          now: float | None = None) -> Identity:
    """The identity carried by ``headers``; :class:`InvalidInput` for a malformed one and, with a
    ``check`` that requires it, :class:`Unauthorized` when the gateway's signature is missing or wrong."""
    raw_id = (headers.get(USER_ID_HEADER) or "").strip()
    if not raw_id:
        return ANONYMOUS_IDENTITY
    if not (raw_id.isascii() and raw_id.isdigit()) or not 0 < int(raw_id) <= _MAX_ID:
        raise InvalidInput(f"header {USER_ID_HEADER} must be a positive integer")
    role = (headers.get(ROLE_HEADER) or "user").strip()
    if role not in ROLES:
        raise InvalidInput(f"header {ROLE_HEADER} must be one of {', '.join(ROLES)}")
    if check is not None and not check.allow_unsigned:
        problem = signed_identity.verify(check.secret, headers.get(signed_identity.SIGNATURE_HEADER), raw_id, role,
                                         headers.get(REQUEST_ID_HEADER) or "", time.time() if now is None else now)
        if problem is not None:
            raise Unauthorized(problem)
    return Identity(int(raw_id), role)


def current_identity() -> Identity:
    """The identity of the Flask request being served (checked as the app was configured)."""
    return identity_from_headers(request.headers, current_app.config.get(CHECK_CONFIG))
