"""Gateway authentication: who a bearer token speaks for, or :class:`AuthError` (401).

Tokens are Ed25519 JWTs checked by :func:`kernel.tokens.verify_claims`
(pinned algorithm, issuer, expiry, ``typ`` = access, a known role). A verified token's claims
are cached until it expires (bounded), so repeat requests skip the signature check; the
revocation check (:class:`~proxy.revocations.RevocationCache`) runs on every request, so a
revocation takes effect on cached tokens too. What a caller may do is decided by
:mod:`proxy.policy`.
"""

from __future__ import annotations

import logging
import time

from kernel.settings import Settings
from kernel.tokens import InvalidToken, TokenClaims, load_public_key, verify_claims
from proxy.policy import MODES
from proxy.revocations import RevocationCache

log = logging.getLogger(__name__)

CACHE_SIZE = 10_000
KEY_RETRY_SECONDS = 5.0


class AuthError(Exception):
    """The request must be refused with 401."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Authenticator:
    """Verifies bearer tokens with the users service's public key (reloaded until present)."""

    def __init__(self, settings: Settings, revoked: RevocationCache) -> None:
        self.settings = settings
        self.mode = settings.proxy_auth_mode
        if self.mode not in MODES:
            raise ValueError(f"invalid PROXY_AUTH_MODE {self.mode!r}: expected writes, all or off")
        self.revoked = revoked
        self._key: str | None = None
        self._key_checked = 0.0
        self._cache: dict[str, TokenClaims] = {}

    def _public_key(self) -> str | None:
        now = time.monotonic()
        if self._key is None and now - self._key_checked >= KEY_RETRY_SECONDS:
            self._key_checked = now
            try:
                self._key = load_public_key(self.settings)
            except OSError:
                log.warning("token public key not found yet; tokens cannot be verified")
        return self._key

    def claims(self, authorization: str | None) -> TokenClaims | None:
        """The verified claims of an ``Authorization: Bearer`` header, ``None`` without one.

        Raises :class:`AuthError` for a malformed, invalid, expired or revoked token.
        """
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("authorization must be a bearer token")
        token = token.strip()
        claims = self._cache.get(token)
        if claims is None:
            claims = self._verify(token)
        elif claims.expires_at <= time.time():
            del self._cache[token]
            raise AuthError("token expired")
        if self.revoked.is_revoked(claims.user_id, claims.issued_at):
            raise AuthError("token revoked")
        return claims

    def _verify(self, token: str) -> TokenClaims:
        key = self._public_key()
        if key is None:
            raise AuthError("cannot verify tokens: the users service's public key is not available")
        try:
            claims = verify_claims(token, key)
        except InvalidToken as exc:
            raise AuthError(exc.message) from None
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[token] = claims
        return claims
