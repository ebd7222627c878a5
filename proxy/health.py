"""``GET /health``: the contract's text answer, or JSON on request — details for operators only.

The public learns that the gateway is up (``{"status": "ok"}``); the flag table, upstream
URLs, pid, auth mode and revocation state are for a verified admin or service token.
"""

from __future__ import annotations

import json
import os
from typing import Any

from proxy.flagcache import FlagCache
from proxy.revocations import RevocationCache
from proxy.routing import Upstreams

HEALTH_TEXT = b"Strangler Fig Proxy is healthy"


def wants_json(accept: str | None) -> bool:
    """Whether the client asked for JSON (``Accept: application/json``)."""
    return bool(accept) and "application/json" in accept


def health_document(cache: FlagCache, upstreams: Upstreams, auth_mode: str,
                    revoked: RevocationCache) -> dict[str, Any]:
    """Flags table and freshness, listener states, upstream URLs and auth policy of this worker."""
    return {
        "status": "ok",
        "pid": os.getpid(),
        **cache.status(),
        "upstreams": {"monolith": upstreams.monolith, **upstreams.services},
        "auth_mode": auth_mode,
        "revocations": revoked.status(),
    }


PUBLIC_JSON = b'{"status": "ok"}'


def health_body(cache: FlagCache, upstreams: Upstreams, auth_mode: str, accept: str | None,
                revoked: RevocationCache, details: bool = False) -> tuple[bytes, str]:
    """``(body, content type)`` of the health answer; ``details`` for operators (JSON always)."""
    if details:
        return json.dumps(health_document(cache, upstreams, auth_mode, revoked)).encode(), "application/json"
    if wants_json(accept):
        return PUBLIC_JSON, "application/json"
    return HEALTH_TEXT, "text/plain; charset=utf-8"
