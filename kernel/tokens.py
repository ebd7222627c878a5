"""Signed tokens: Ed25519 (``EdDSA``) JWTs issued by the users domain.

The users service signs with the private key; the proxy (and anything else) verifies with the
public key only. The algorithm is pinned on verification, so a token that names another
algorithm (``none``, ``HS256`` with the public key as secret ...) is rejected.

Keys are generated on first start into ``JWT_PRIVATE_KEY_PATH`` / ``JWT_PUBLIC_KEY_PATH``
(default ``RUN_DIR/keys/jwt_ed25519.pem`` and ``.pub``); they are never committed.
Everything here is a pure function of its arguments apart from the key files.

Two kinds share the key: short-lived ``access`` tokens (sent on every request) and
long-lived ``refresh`` tokens (only ever sent to ``POST /api/auth/refresh``). The ``typ``
claim keeps them apart, so a leaked refresh token cannot be used as an access token.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kernel.settings import Settings

ALGORITHM = "EdDSA"
ISSUER = "cinemaabyss-users"
PRIVATE_KEY_NAME = "jwt_ed25519.pem"
PUBLIC_KEY_NAME = "jwt_ed25519.pub"
# Who a token speaks for. "service" is for machine callers (the payment side); roles are
# assigned by operators (``cinemaabyss users set-role``), never chosen by the client.
ROLES = ("user", "editor", "admin", "service")
#: Roles that may read and change any user's data (the payment side and operators).
PRIVILEGED = frozenset({"admin", "service"})
#: Roles that may change the catalogue.
EDITORS = frozenset({"editor", "admin"})
ACCESS = "access"
REFRESH = "refresh"
KINDS = (ACCESS, REFRESH)
_REQUIRED = ("sub", "role", "typ", "iat", "exp", "iss", "jti")


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says: whose it is, their role, and its validity window (epoch seconds)."""

    user_id: int
    role: str
    issued_at: float
    expires_at: float


class InvalidToken(Exception):
    """The token is missing, malformed, tampered with, expired or otherwise unacceptable."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def key_paths(settings: Settings) -> tuple[Path, Path]:
    """``(private, public)`` key file paths from settings, defaulting under ``RUN_DIR/keys``."""
    keys_dir = settings.run_path / "keys"
    private = Path(settings.jwt_private_key_path) if settings.jwt_private_key_path else keys_dir / PRIVATE_KEY_NAME
    public = Path(settings.jwt_public_key_path) if settings.jwt_public_key_path else keys_dir / PUBLIC_KEY_NAME
    return private, public


def generate_keys() -> tuple[str, str]:
    """A fresh Ed25519 key pair as ``(private PKCS#8 PEM, public SubjectPublicKeyInfo PEM)``."""
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private_pem, public_pem


def public_pem_of(private_pem: str) -> str:
    """The public key PEM that belongs to ``private_pem``."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _write_private(path: Path, pem: str) -> None:
    """Publish ``pem`` at ``path`` (mode 600) atomically; a key already there is kept.

    The key is written to a private temporary file first and hard-linked into place, so a
    concurrent reader never sees a half-written key and the first of several writers wins.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(pem)
    try:
        with contextlib.suppress(FileExistsError):  # another process won; use its key
            os.link(tmp, path)
    finally:
        tmp.unlink()


def load_or_create_keys(settings: Settings) -> tuple[str, str]:
    """The signing key pair ``(private_pem, public_pem)``, generating and saving it if absent.

    If only the private key exists, the public key is re-derived and written. When several
    processes start at once, the first exclusive create wins and the others read its key.
    """
    private_path, public_path = key_paths(settings)
    if not private_path.exists():
        private_pem, _ = generate_keys()
        _write_private(private_path, private_pem)
    private_pem = private_path.read_text()
    public_pem = public_pem_of(private_pem)
    if not public_path.exists() or public_path.read_text() != public_pem:
        public_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = public_path.with_suffix(public_path.suffix + f".{os.getpid()}.tmp")
        tmp.write_text(public_pem)
        tmp.replace(public_path)
    return private_pem, public_pem


def load_public_key(settings: Settings) -> str:
    """The verification key PEM (what the proxy needs); raises ``FileNotFoundError`` if absent."""
    return key_paths(settings)[1].read_text()


def _epoch(moment: datetime | float | None) -> float:
    """``moment`` as epoch seconds with sub-second precision (``None`` = now)."""
    if moment is None:
        return time.time()
    return moment.timestamp() if isinstance(moment, datetime) else float(moment)


def issue_token(
    user_id: int,
    private_pem: str,
    ttl_seconds: int,
    *,
    role: str = "user",
    kind: str = ACCESS,
    now: datetime | float | None = None,
) -> str:
    """A signed ``kind`` token for ``user_id`` with ``role``, valid ``ttl_seconds`` from ``now``.

    Claims: ``sub``, ``role``, ``typ``, ``iat`` (float epoch seconds, so a revocation at
    ``not_before`` refuses a token issued in the same second but not one issued after it),
    ``exp``, ``iss`` and a random ``jti`` (refresh tokens are tracked by it).
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if kind not in KINDS:
        raise ValueError(f"unknown token kind {kind!r}")
    issued = _epoch(now)
    claims = {
        "sub": str(user_id),
        "role": role,
        "typ": kind,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "iss": ISSUER,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, private_pem, algorithm=ALGORITHM)


def decode_claims(token: str, public_pem: str, *, kind: str = ACCESS) -> dict[str, Any]:
    """The verified raw claims of a ``kind`` token; :class:`InvalidToken` for anything else.

    Callers that only need who and when use :func:`verify_claims`; the users service needs
    the ``jti`` of refresh tokens too.
    """
    if not isinstance(token, str) or not token:
        raise InvalidToken("missing token")
    try:
        claims = jwt.decode(
            token,
            public_pem,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": list(_REQUIRED)},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("token expired") from None
    except jwt.InvalidTokenError as exc:
        raise InvalidToken(f"invalid token: {exc}") from None
    if claims["typ"] != kind:
        raise InvalidToken(f"invalid token: wrong token type (expected {kind})")
    if claims["role"] not in ROLES:
        raise InvalidToken("invalid token: unknown role")
    sub = claims["sub"]
    if not isinstance(sub, str) or not (sub.isascii() and sub.isdigit()) or not 0 < int(sub) < 2**31:
        raise InvalidToken("invalid token: bad subject")
    if not all(isinstance(claims[name], int | float) and not isinstance(claims[name], bool) for name in ("iat", "exp")):
        raise InvalidToken("invalid token: bad timestamps")
    return claims


def verify_claims(token: str, public_pem: str, *, kind: str = ACCESS) -> TokenClaims:
    """Who a valid ``kind`` token names and when it was issued; :class:`InvalidToken` otherwise.

    A refresh token presented as an access token (or the reverse) and an unknown role are
    refused like a bad signature.
    """
    claims = decode_claims(token, public_pem, kind=kind)
    return TokenClaims(
        user_id=int(claims["sub"]),
        role=claims["role"],
        issued_at=float(claims["iat"]),
        expires_at=float(claims["exp"]),
    )

