"""The gateway's signature over the identity it forwards, so services can tell it from a forgery.

The gateway sends ``X-User-Id``/``X-User-Role`` with ``X-Identity-Signature: <unix time>.<hex>``,
an HMAC-SHA256 under ``IDENTITY_SECRET`` over user id, role, request id (``X-Request-Id``) and
that time. A service accepts the identity only when the signature matches and is at most
:data:`MAX_AGE_SECONDS` old (either way: clocks of one deployment agree within that), so a
caller that reaches a service port directly cannot claim to be an admin. The secret is
``IDENTITY_SECRET``, or one generated on first start into ``RUN_DIR/identity_secret`` and read
by every process of the same checkout (like the payment webhook secret).

No Flask here: the gateway imports this module.
"""

from __future__ import annotations

import hmac

from kernel.generated_secret import configured_or_generated
from kernel.settings import Settings

SIGNATURE_HEADER = "X-Identity-Signature"
MAX_AGE_SECONDS = 60
SECRET_FILE = "identity_secret"  # noqa: S105 - a file name, not a secret


def load_secret(settings: Settings) -> bytes:
    """``IDENTITY_SECRET``, or the one in ``RUN_DIR/identity_secret`` (created once, mode 600).

    Creation uses ``O_EXCL``; a process that loses the race reads the winner's secret once
    it has been written.
    """
    return configured_or_generated(settings.identity_secret, settings.run_dir, SECRET_FILE).encode()


def _mac(secret: bytes, user_id: str, role: str, request_id: str, timestamp: str) -> str:
    # the one-shot C digest: this runs on every signed-in request at the gateway
    return hmac.digest(secret, f"{user_id}\n{role}\n{request_id}\n{timestamp}".encode(), "sha256").hex()


def sign(secret: bytes, user_id: str, role: str, request_id: str, now: int) -> str:
    """The ``X-Identity-Signature`` value for this identity on this request at unix time ``now``."""
    return f"{now}.{_mac(secret, user_id, role, request_id, str(now))}"


def verify(secret: bytes, signature: str | None, user_id: str, role: str, request_id: str, now: float) -> str | None:
    """``None`` when ``signature`` vouches for this identity now, else why not."""
    if not signature:
        return "identity headers without the gateway's signature"
    timestamp, _, mac = signature.partition(".")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return "malformed identity signature"
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return "identity signature expired"
    if not hmac.compare_digest(mac.encode(), _mac(secret, user_id, role, request_id, timestamp).encode()):
        return "invalid identity signature"
    return None
