"""``Idempotency-Key`` on POST: a retried write returns the first answer and creates nothing twice.

Keys live in Redis, per caller (the token's user id, else the ``X-User-Id`` hint, else the
client address) and per key, for a day. The first request with a key *claims* it
(``SET NX`` of a ``pending`` record that expires after the upstream read timeout plus a
margin, so a gateway that dies mid-request does not block the key for a day); its answer
then replaces the record (``done``, kept :data:`KEEP_SECONDS`). A later request with the
same key:

* finds ``done`` → gets the stored answer again (``Idempotent-Replayed: true``), nothing is
  forwarded;
* finds ``pending`` → waits for the first to finish (up to :data:`WAIT_SECONDS`), else 409;
* sends a different method, path or body under the same key → 422.

Only complete answers below 500 are stored. A 5xx or a failed attempt releases the key, so
the client's retry is forwarded again — safe when the failure proves the request never
reached a service (see :mod:`proxy.retry`); after an ambiguous failure (the service died
between its commit and its answer) a retry can create the row a second time: that window
is the one the service side cannot close without storing keys itself (docs/runbook.md).

When Redis is unreachable the gateway forwards without the guarantee rather than refusing
writes, and logs it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import time
from dataclasses import dataclass

import redis.asyncio as aioredis

from proxy.types import Headers

log = logging.getLogger(__name__)

KEEP_SECONDS = 86_400
WAIT_SECONDS = 5.0
POLL_SECONDS = 0.02
MAX_KEY_LENGTH = 255
REPLAYED_HEADER = ("idempotent-replayed", "true")


class KeyError400(ValueError):
    """The ``Idempotency-Key`` header itself is unusable (empty, too long, not printable)."""


@dataclass(frozen=True, slots=True)
class Stored:
    """A complete answer kept for replay."""

    status: int
    headers: Headers
    body: bytes


@dataclass(frozen=True, slots=True)
class Claim:
    """Outcome of :meth:`IdempotencyStore.claim`: exactly one field describes what to do."""

    claimed: bool = False  # forward the request; then complete() or release()
    replay: Stored | None = None  # answer with this
    busy: bool = False  # another request with this key is still running
    mismatch: bool = False  # same key, different request
    unavailable: bool = False  # Redis down: forward without the guarantee


def redis_key(caller: str, raw_key: str) -> str:
    """The Redis key of ``raw_key`` for ``caller``; raises :class:`KeyError400` for a bad key."""
    if not raw_key or len(raw_key) > MAX_KEY_LENGTH or not raw_key.isprintable():
        raise KeyError400(f"Idempotency-Key must be 1..{MAX_KEY_LENGTH} printable characters")
    digest = hashlib.sha256(f"{caller}\0{raw_key}".encode()).hexdigest()[:40]
    return f"idem:{digest}"


def fingerprint(method: str, target: str, body: bytes) -> str:
    """What must be equal for two requests to count as the same request."""
    return hashlib.sha256(method.encode() + b" " + target.encode() + b"\0" + body).hexdigest()


class IdempotencyStore:
    """Claims, completes and replays keys in Redis (one client per gateway worker)."""

    def __init__(self, redis_url: str, pending_seconds: float) -> None:
        self.redis = aioredis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1)
        self.pending_seconds = max(1, int(pending_seconds))
        self._warned = 0.0

    async def close(self) -> None:
        """Close the Redis connections."""
        await self.redis.aclose()

    def _down(self, exc: Exception) -> Claim:
        if time.monotonic() - self._warned > 30:
            self._warned = time.monotonic()
            log.warning("idempotency keys unavailable (Redis): %s; forwarding without them", exc)
        return Claim(unavailable=True)

    async def claim(self, key: str, fp: str, wait: float = WAIT_SECONDS) -> Claim:
        """Claim ``key`` for a request with fingerprint ``fp``, or say what to answer instead."""
        pending = json.dumps({"state": "pending", "fp": fp})
        deadline = time.monotonic() + wait
        try:
            while True:
                if await self.redis.set(key, pending, nx=True, ex=self.pending_seconds):
                    return Claim(claimed=True)
                raw = await self.redis.get(key)
                if raw is None:
                    continue  # expired or released between SET and GET: try to claim again
                record = json.loads(raw)
                if record.get("fp") != fp:
                    return Claim(mismatch=True)
                if record["state"] == "done":
                    return Claim(replay=Stored(record["status"], [tuple(h) for h in record["headers"]],
                                               base64.b64decode(record["body"])))
                if time.monotonic() >= deadline:
                    return Claim(busy=True)
                await asyncio.sleep(POLL_SECONDS)  # bounded wait for the first request's answer
        except (aioredis.RedisError, OSError) as exc:
            return self._down(exc)

    async def complete(self, key: str, fp: str, answer: Stored) -> None:
        """Keep ``answer`` for :data:`KEEP_SECONDS` (replaces the pending record)."""
        record = {"state": "done", "fp": fp, "status": answer.status, "headers": answer.headers,
                  "body": base64.b64encode(answer.body).decode()}
        try:
            await self.redis.set(key, json.dumps(record), ex=KEEP_SECONDS)
        except (aioredis.RedisError, OSError) as exc:
            self._down(exc)

    async def release(self, key: str) -> None:
        """Forget a claim whose request did not produce a storable answer."""
        try:
            await self.redis.delete(key)
        except (aioredis.RedisError, OSError) as exc:
            self._down(exc)
