"""Signed access tokens: Ed25519 (``EdDSA``) JWTs issued by the users domain.

The users service signs with the private key; the proxy (and anything else) verifies with the
public key only. The algorithm is pinned on verification, so a token that names another
algorithm (``none``, ``HS256`` with the public key as secret ...) is rejected.

Keys are generated on first start into ``JWT_PRIVATE_KEY_PATH`` / ``JWT_PUBLIC_KEY_PATH``
(default ``RUN_DIR/keys/jwt_ed25519.pem`` and ``.pub``); they are never committed.
Everything here is a pure function of its arguments apart from the key files.
"""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain_services.shared.settings import Settings

ALGORITHM = "EdDSA"
ISSUER = "cinemaabyss-users"
PRIVATE_KEY_NAME = "jwt_ed25519.pem"
PUBLIC_KEY_NAME = "jwt_ed25519.pub"


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


def issue_token(user_id: int, private_pem: str, ttl_seconds: int, *, now: datetime | None = None) -> str:
    """A signed token for ``user_id`` valid ``ttl_seconds`` from ``now`` (claims sub, iat, exp, iss)."""
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "iat": issued,
        "exp": issued + timedelta(seconds=ttl_seconds),
        "iss": ISSUER,
    }
    return jwt.encode(claims, private_pem, algorithm=ALGORITHM)


def verify_token(token: str, public_pem: str) -> int:
    """The user id a valid token names; :class:`InvalidToken` for anything else."""
    if not isinstance(token, str) or not token:
        raise InvalidToken("missing token")
    try:
        claims = jwt.decode(
            token,
            public_pem,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("token expired") from None
    except jwt.InvalidTokenError as exc:
        raise InvalidToken(f"invalid token: {exc}") from None
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub.isdigit() or not 0 < int(sub) < 2**31:
        raise InvalidToken("invalid token: bad subject")
    return int(sub)
