"""Gateway auth: verify the users service's tokens and apply the per-route policy.

Tokens are Ed25519 JWTs verified by ``domain_services.shared.tokens`` (pinned algorithm,
issuer, expiry). Verified tokens are cached until their expiry (bounded), so repeat
requests skip the signature check. Policy (``PROXY_AUTH_MODE``):

* ``writes`` (default, ARCHITECTURE §6): GET/HEAD/OPTIONS open; other methods need a token,
  except sign-up and login (``POST /api/users``, ``/api/auth/*``);
* ``all``: every ``/api`` request needs a token, same exceptions, plus health probes;
* ``off``: nothing required (a token that is sent is still verified and passed on).

A client-sent ``X-User-Id`` is never passed upstream: the proxy sets it from a valid token
only; without a token it is used as a sticky-routing hint.
"""

from __future__ import annotations

import logging
import time

import jwt

from domain_services.shared.settings import Settings
from domain_services.shared.tokens import InvalidToken, load_public_key, verify_token

log = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OPEN_PREFIXES = ("/api/auth/",)
OPEN_EXACT = frozenset({"/api/auth"})
SIGN_UP = frozenset({"/api/users", "/api/users/"})
CACHE_SIZE = 10_000
KEY_RETRY_SECONDS = 5.0


class AuthError(Exception):
    """The request must be refused with 401."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def requires_token(mode: str, method: str, path: str) -> bool:
    """Whether the policy demands a valid token for ``method path``."""
    if mode == "off" or not path.startswith("/api"):
        return False
    if path.startswith(OPEN_PREFIXES) or path in OPEN_EXACT or (method == "POST" and path in SIGN_UP):
        return False
    if mode == "all":
        return not path.endswith("/health")
    return method not in READ_METHODS


class Authenticator:
    """Verifies bearer tokens with the users service's public key (reloaded until present)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.mode = settings.proxy_auth_mode
        if self.mode not in {"writes", "all", "off"}:
            raise ValueError(f"invalid PROXY_AUTH_MODE {self.mode!r}: expected writes, all or off")
        self._key: str | None = None
        self._key_checked = 0.0
        self._cache: dict[str, tuple[str, float]] = {}

    def _public_key(self) -> str | None:
        now = time.monotonic()
        if self._key is None and now - self._key_checked >= KEY_RETRY_SECONDS:
            self._key_checked = now
            try:
                self._key = load_public_key(self.settings)
            except OSError:
                log.warning("token public key not found yet; tokens cannot be verified")
        return self._key

    def user_id(self, authorization: str | None) -> str | None:
        """The verified user id of an ``Authorization: Bearer`` header, ``None`` without one.

        Raises :class:`AuthError` for a malformed, invalid or expired token.
        """
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("authorization must be a bearer token")
        token = token.strip()
        cached = self._cache.get(token)
        now = time.time()
        if cached is not None:
            if cached[1] > now:
                return cached[0]
            del self._cache[token]
            raise AuthError("token expired")
        key = self._public_key()
        if key is None:
            raise AuthError("cannot verify tokens: the users service's public key is not available")
        try:
            uid = str(verify_token(token, key))
        except InvalidToken as exc:
            raise AuthError(exc.message) from None
        expiry = float(jwt.decode(token, options={"verify_signature": False})["exp"])
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[token] = (uid, expiry)
        return uid
