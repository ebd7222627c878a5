"""Sticky bucketing: the same key lands in the same bucket 0..99 everywhere, forever.

MurmurHash3 x86 32-bit with seed 0 over ``"<domain>:<key>"`` modulo 100 — the scheme
Unleash uses for gradual rollouts, so an assignment can be reproduced outside the proxy
(``mmh3.hash(f"movies:{user_id}", 0, signed=False) % 100``). A request goes to the service
when its bucket is below the flag's percent, so raising the percent only ever moves users
from the monolith to the service, never back.
"""

from __future__ import annotations

import random

import mmh3

_hash = mmh3.hash


def bucket(domain: str, key: str) -> int:
    """The bucket 0..99 of ``key`` within ``domain``."""
    return _hash(f"{domain}:{key}", 0, False) % 100


def in_service(domain: str, key: str | None, percent: int) -> bool:
    """Whether a request with sticky ``key`` goes to the service at ``percent``.

    ``key=None`` (sticky key ``none``) draws a fresh random bucket per request.
    """
    if percent <= 0:
        return False
    if percent >= 100:
        return True
    if key is None:
        return random.randrange(100) < percent  # noqa: S311 - load spreading, not security
    return bucket(domain, key) < percent
