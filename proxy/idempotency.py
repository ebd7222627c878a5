"""``Idempotency-Key`` on POST: a retried write returns the first answer and creates nothing twice.

Keys live in Redis, per caller and per key, for a day. The caller is the verified user id,
else the client address — never a client-sent hint, so nobody can read or block another
caller's keys. The first request with a key *claims* it (a ``pending`` record that expires
after the upstream read timeout plus a margin, so a gateway that dies mid-request does not
block the key for a day); its answer then replaces the record (``done``, kept
:data:`KEEP_SECONDS`). A later request with the same key:

* finds ``done`` → gets the stored answer again (``Idempotent-Replayed: true``), nothing is
  forwarded; when the answer was too large to keep (:class:`Quota`), only its status and
  SHA-256 were kept, and the replay is a 409 saying so (nothing is forwarded either);
* finds ``pending`` → waits for the first to finish (up to :data:`WAIT_SECONDS`), else 409;
* sends a different method, path or body under the same key → 422.

Bounded per caller (:class:`Quota`): at most ``max_keys`` keys held at once (a new key beyond
that is refused with 429 before anything is forwarded) and at most ``max_bytes`` of stored
answers; an answer above ``max_answer_bytes``, or one that would exceed the caller's bytes,
is kept as status and digest. Each caller's keys are indexed in a sorted set (score: expiry)
and their sizes in a hash, both maintained by Lua scripts in the same step as the record, so
the quota holds under concurrency. The Redis shared with Celery and the throttles therefore
needs no eviction (docs/security.md: ``maxmemory-policy noeviction``).

Answers of sign-in, sign-up and token refresh (:func:`never_kept`) are never stored or
replayed: a replay would hand out a spent token pair and bypass reuse detection.

Only complete answers below 500 are stored. A 5xx or a failed attempt releases the key, so
the client's retry is forwarded again. That retry cannot write twice either: upstream, every
keyed request carries :func:`upstream_key` (the client's key scoped to the caller, or
:func:`fresh_key` when the client sent none), and the services store key → answer in the
write's own transaction (:mod:`kernel.exactly_once`), which is also what lets the gateway
send a write whose answer was lost to the monolith (:mod:`proxy.retry`).

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
import uuid
from dataclasses import dataclass

import redis.asyncio as aioredis

from kernel import request_keys
from kernel.request_keys import applies, fingerprint, never_kept, valid_key
from proxy.types import Headers

__all__ = ["KEEP_SECONDS", "Claim", "Digest", "IdempotencyStore", "KeyError400", "Quota", "Stored", "applies",
           "fingerprint", "fresh_key", "never_kept", "redis_key", "upstream_key"]

log = logging.getLogger(__name__)

KEEP_SECONDS = 86_400
WAIT_SECONDS = 5.0
POLL_SECONDS = 0.02
#: ``Idempotent-Replayed: true`` as the gateway's header lists hold names: lower-case
REPLAYED_HEADER = (request_keys.REPLAYED_HEADER[0].lower(), request_keys.REPLAYED_HEADER[1])
#: the client's ``Idempotency-Key`` header as the gateway's header lists hold it
KEY_HEADER = request_keys.KEY_HEADER.lower()


class KeyError400(ValueError):
    """The ``Idempotency-Key`` header itself is unusable (empty, too long, not printable)."""


@dataclass(frozen=True, slots=True)
class Quota:
    """What one caller may hold in the store at once."""

    max_keys: int = 1000
    max_bytes: int = 1024 * 1024
    max_answer_bytes: int = 16 * 1024

    @classmethod
    def from_settings(cls, settings) -> Quota:
        """The quota configured in settings."""
        return cls(settings.proxy_idempotency_max_keys, settings.proxy_idempotency_max_bytes,
                   settings.proxy_idempotency_max_answer_bytes)


@dataclass(frozen=True, slots=True)
class Stored:
    """A complete answer kept for replay."""

    status: int
    headers: Headers
    body: bytes


@dataclass(frozen=True, slots=True)
class Digest:
    """What is kept of an answer too large to keep: its status, size and SHA-256."""

    status: int
    size: int
    sha256: str

    def error(self) -> dict[str, object]:
        """The JSON body of the 409 a replay gets."""
        return {"error": f"the first answer to this Idempotency-Key ({self.status}, {self.size} bytes) was too "
                         "large to keep, so it cannot be replayed; the request was not repeated",
                "status": self.status, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class Claim:
    """Outcome of :meth:`IdempotencyStore.claim`: exactly one field describes what to do."""

    claimed: bool = False  # forward the request; then complete() or release()
    replay: Stored | None = None  # answer with this
    digest: Digest | None = None  # the first answer was too large to keep: 409
    busy: bool = False  # another request with this key is still running
    mismatch: bool = False  # same key, different request
    over_quota: bool = False  # the caller holds too many keys: 429
    unavailable: bool = False  # Redis down: forward without the guarantee


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def redis_key(caller: str, raw_key: str) -> str:
    """The Redis key of ``raw_key`` for ``caller``; raises :class:`KeyError400` for a bad key."""
    return f"idem:{upstream_key(caller, raw_key)}"


def upstream_key(caller: str, raw_key: str) -> str:
    """The key the services store for ``raw_key`` of ``caller``: scoped to the caller, so one
    caller's key can never answer another's request; :class:`KeyError400` for a bad key."""
    if not valid_key(raw_key):
        raise KeyError400(request_keys.INVALID_KEY)
    return _hash(f"{caller}\0{raw_key}")


def fresh_key() -> str:
    """A key for a write whose client sent none (unique; never equal to a scoped key's 40 hex digits)."""
    return f"gw-{uuid.uuid4().hex}"


def _caller_keys(caller: str) -> tuple[str, str]:
    """The caller's index (sorted set: record key → expiry) and sizes (hash: record key → bytes)."""
    tag = _hash(caller)
    return f"idem-keys:{tag}", f"idem-bytes:{tag}"


#: KEYS: record, index, sizes. ARGV: pending record, pending seconds, now, max keys, keep seconds.
#: Returns the existing record, 1 (claimed) or 0 (the caller holds too many keys).
_CLAIM = """
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
  redis.call('HDEL', KEYS[3], unpack(expired))
end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('ZADD', KEYS[2], tonumber(ARGV[3]) + tonumber(ARGV[5]), KEYS[1])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return 1
"""
#: KEYS: record, index, sizes. ARGV: full record, digest record, size, max bytes, keep seconds.
#: Keeps the full record when the caller's bytes allow it (returns 1), else the digest (0).
_COMPLETE = """
local used = 0
for _, v in ipairs(redis.call('HVALS', KEYS[3])) do used = used + tonumber(v) end
local size = tonumber(ARGV[3])
if size >= 0 and used + size <= tonumber(ARGV[4]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[5])
  redis.call('HSET', KEYS[3], KEYS[1], size)
  redis.call('EXPIRE', KEYS[3], ARGV[5])
  return 1
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[5])
return 0
"""
#: KEYS: record, index, sizes.
_RELEASE = """
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], KEYS[1])
redis.call('HDEL', KEYS[3], KEYS[1])
return 1
"""


class IdempotencyStore:
    """Claims, completes and replays keys in Redis (one client per gateway worker)."""

    def __init__(self, redis_url: str, pending_seconds: float, quota: Quota | None = None) -> None:
        self.redis = aioredis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1)
        self.pending_seconds = max(1, int(pending_seconds))
        self.quota = quota or Quota()
        self._claim = self.redis.register_script(_CLAIM)
        self._complete = self.redis.register_script(_COMPLETE)
        self._release = self.redis.register_script(_RELEASE)
        self._warned = 0.0

    async def close(self) -> None:
        """Close the Redis connections."""
        await self.redis.aclose()

    def _down(self, exc: Exception) -> Claim:
        if time.monotonic() - self._warned > 30:
            self._warned = time.monotonic()
            log.warning("idempotency keys unavailable (Redis): %s; forwarding without them", exc)
        return Claim(unavailable=True)

    async def claim(self, key: str, fp: str, caller: str, wait: float = WAIT_SECONDS) -> Claim:
        """Claim ``key`` of ``caller`` for a request with fingerprint ``fp``, or say what to answer instead."""
        pending = json.dumps({"state": "pending", "fp": fp})
        deadline = time.monotonic() + wait
        keys = (key, *_caller_keys(caller))
        try:
            while True:
                raw = await self._claim(keys=keys, args=(pending, self.pending_seconds, int(time.time()),
                                                         self.quota.max_keys, KEEP_SECONDS))
                if raw == 1:
                    return Claim(claimed=True)
                if raw == 0:
                    return Claim(over_quota=True)
                record = json.loads(raw)
                if record.get("fp") != fp:
                    return Claim(mismatch=True)
                if record["state"] == "done":
                    if "sha256" in record:
                        return Claim(digest=Digest(record["status"], record["size"], record["sha256"]))
                    return Claim(replay=Stored(record["status"], [tuple(h) for h in record["headers"]],
                                               base64.b64decode(record["body"])))
                if time.monotonic() >= deadline:
                    return Claim(busy=True)
                await asyncio.sleep(POLL_SECONDS)  # bounded wait for the first request's answer
        except (aioredis.RedisError, OSError) as exc:
            return self._down(exc)

    async def complete(self, key: str, fp: str, answer: Stored, caller: str) -> None:
        """Keep ``answer`` for :data:`KEEP_SECONDS` (replaces the pending record), or its digest
        when it is larger than the quota allows."""
        digest = {"state": "done", "fp": fp, "status": answer.status, "size": len(answer.body),
                  "sha256": hashlib.sha256(answer.body).hexdigest()}
        size = len(answer.body) if len(answer.body) <= self.quota.max_answer_bytes else -1
        full = json.dumps({"state": "done", "fp": fp, "status": answer.status, "headers": answer.headers,
                           "body": base64.b64encode(answer.body).decode()}) if size >= 0 else ""
        try:
            await self._complete(keys=(key, *_caller_keys(caller)),
                                 args=(full, json.dumps(digest), size, self.quota.max_bytes, KEEP_SECONDS))
        except (aioredis.RedisError, OSError) as exc:
            self._down(exc)

    async def release(self, key: str, caller: str) -> None:
        """Forget a claim whose request did not produce a storable answer."""
        try:
            await self._release(keys=(key, *_caller_keys(caller)))
        except (aioredis.RedisError, OSError) as exc:
            self._down(exc)
