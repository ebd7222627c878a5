"""Idempotency keys: the facts the gateway and the services share (pure, no dependencies).

Which requests get a key, what a usable key is, when two requests count as the same one, and
which answers are never kept. The gateway (:mod:`proxy.idempotency`) and the services
(:mod:`kernel.exactly_once`) read them from here.
"""

from __future__ import annotations

import hashlib

#: The request header carrying the key (the client's to the gateway, the gateway's upstream).
KEY_HEADER = "Idempotency-Key"
#: Marks an answer given again from storage instead of running the request.
REPLAYED_HEADER = ("Idempotent-Replayed", "true")
#: Methods that change state and are not idempotent by definition (RFC 9110 §9.2.2).
KEYED_METHODS = frozenset({"POST", "PATCH"})
MAX_KEY_LENGTH = 255
#: What a caller is told about an unusable key (gateway and services alike).
INVALID_KEY = f"{KEY_HEADER} must be 1..{MAX_KEY_LENGTH} printable characters"


def never_kept(path: str) -> bool:
    """Whether answers to ``path`` carry credentials and must never be stored or replayed."""
    return path.startswith("/api/auth/") or path.rstrip("/") == "/api/users"


def applies(method: str, path: str) -> bool:
    """Whether a request with this method and path gets a key."""
    return method in KEYED_METHODS and not never_kept(path)


def valid_key(raw: str) -> bool:
    """Whether ``raw`` is a usable key: 1..255 printable characters."""
    return bool(raw) and len(raw) <= MAX_KEY_LENGTH and raw.isprintable()


def fingerprint(method: str, target: str, body: bytes) -> str:
    """What must be equal for two requests to count as the same request (SHA-256, hex)."""
    return hashlib.sha256(method.encode() + b" " + target.encode() + b"\0" + body).hexdigest()
