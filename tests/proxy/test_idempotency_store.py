"""The Idempotency-Key store against the real Redis: claim, wait, replay, mismatch, release, outage."""

from __future__ import annotations

import asyncio
import uuid

from proxy.idempotency import IdempotencyStore, Stored, fingerprint, redis_key
from tests.support.processes import free_port


def _run(coro):
    return asyncio.run(coro)


def test_first_claims_then_waiters_get_the_stored_answer(redis_url):
    async def scenario():
        store = IdempotencyStore(redis_url, pending_seconds=30)
        key, fp = redis_key("7", uuid.uuid4().hex), fingerprint("POST", "/api/movies", b"{}")
        try:
            assert (await store.claim(key, fp)).claimed
            busy = await store.claim(key, fp, wait=0.1)
            assert busy.busy, "a duplicate while the first runs must not be forwarded"
            waiter = asyncio.create_task(store.claim(key, fp, wait=5))
            answer = Stored(201, [("content-type", "application/json")], b'{"id": 1}')
            await store.complete(key, fp, answer)
            replay = (await waiter).replay
            assert replay == answer
            assert (await store.claim(key, fingerprint("POST", "/api/movies", b"[]"))).mismatch
            assert await store.redis.ttl(key) > 86_000
        finally:
            await store.close()
    _run(scenario())


def test_a_released_key_can_be_claimed_again(redis_url):
    async def scenario():
        store = IdempotencyStore(redis_url, pending_seconds=30)
        key, fp = redis_key("7", uuid.uuid4().hex), "fp"
        try:
            assert (await store.claim(key, fp)).claimed
            await store.release(key)
            assert (await store.claim(key, fp)).claimed
        finally:
            await store.close()
    _run(scenario())


def test_a_pending_claim_expires_so_a_dead_gateway_does_not_block_the_key(redis_url):
    async def scenario():
        store = IdempotencyStore(redis_url, pending_seconds=1)
        key = redis_key("7", uuid.uuid4().hex)
        try:
            assert (await store.claim(key, "fp")).claimed
            assert 0 < await store.redis.ttl(key) <= 1
        finally:
            await store.close()
    _run(scenario())


def test_redis_down_means_forward_without_the_guarantee():
    async def scenario():
        store = IdempotencyStore(f"redis://127.0.0.1:{free_port()}/0", pending_seconds=30)
        try:
            assert (await store.claim("idem:x", "fp")).unavailable
        finally:
            await store.close()
    _run(scenario())
