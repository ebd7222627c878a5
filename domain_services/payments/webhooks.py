"""Signed provider callbacks: HMAC-SHA256 over ``timestamp.body``, the way Stripe signs webhooks.

The provider sends ``Cinemaabyss-Signature: t=<unix seconds>,v1=<hex digest>`` where the
digest is ``HMAC-SHA256(secret, f"{t}.".encode() + body)``. A callback is accepted only
when one ``v1`` matches (constant-time comparison) and ``t`` lies within the tolerance
window of our clock; the event id is then claimed once (``provider_events``), so a
captured callback cannot be replayed, inside the window or after it.

The shared secret is ``PAYMENT_WEBHOOK_SECRET`` or, when empty, one generated on first
start into ``RUN_DIR/payment_webhook_secret`` (mode 600) and read by both sides.
"""

from __future__ import annotations

import hashlib
import hmac

from kernel.errors import DomainError
from kernel.generated_secret import configured_or_generated
from kernel.settings import Settings

SIGNATURE_HEADER = "Cinemaabyss-Signature"
SCHEME = "v1"
SECRET_FILE = "payment_webhook_secret"  # noqa: S105 - a file name, not a secret


class WebhookRejected(DomainError):
    """A callback that must change nothing: 401 when unsigned or forged, 400 when stale or replayed."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``timestamp.body``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    """The value of :data:`SIGNATURE_HEADER` for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},{SCHEME}={signature(secret, body, timestamp)}"


def _parse(header: str) -> tuple[int, list[str]]:
    """``(timestamp, [v1 digests])`` of a signature header; :class:`WebhookRejected` (401) if malformed."""
    timestamp, digests = None, []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == SCHEME:
            digests.append(value)
    if timestamp is None or not digests:
        raise WebhookRejected("malformed signature header", 401)
    return timestamp, digests


def verify(header: str | None, body: bytes, secret: str, *, now: float, tolerance: int) -> int:
    """Check a callback's signature and freshness; returns its timestamp.

    Raises :class:`WebhookRejected`: 401 for a missing, malformed or wrong signature, 400 for
    a correctly signed callback whose timestamp is outside ``now ± tolerance``.
    """
    if not header:
        raise WebhookRejected(f"missing {SIGNATURE_HEADER} header", 401)
    timestamp, digests = _parse(header)
    expected = signature(secret, body, timestamp)
    if not any(hmac.compare_digest(expected, digest) for digest in digests):
        raise WebhookRejected("signature does not match", 401)
    if abs(now - timestamp) > tolerance:
        raise WebhookRejected(f"timestamp outside the {tolerance} s tolerance window")
    return timestamp


def load_or_create_secret(settings: Settings) -> str:
    """``PAYMENT_WEBHOOK_SECRET``, or the one in ``RUN_DIR/payment_webhook_secret`` (created once).

    Creation uses ``O_EXCL``; a process that loses the race reads the winner's secret once
    it has been written.
    """
    return configured_or_generated(settings.payment_webhook_secret, settings.run_dir, SECRET_FILE)
