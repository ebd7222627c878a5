"""The Idempotency-Key store against the real Redis: claim, wait, replay, mismatch, release, outage,
per-caller quota and digests of large answers."""

from __future__ import annotations

import asyncio
import uuid

from proxy.idempotency import IdempotencyStore, Quota, Stored, fingerprint, never_kept, redis_key
from tests.support.processes import free_port


def _run(coro):
    return asyncio.run(coro)


def test_first_claims_then_waiters_get_the_stored_answer(redis_url):
    async def scenario():
        store = IdempotencyStore(redis_url, pending_seconds=30)
        key, fp = redis_key("7", uuid.uuid4().hex), fingerprint("POST", "/api/movies", b"{}")
        try:
            assert (await store.claim(key, fp, "7")).claimed
            busy = await store.claim(key, fp, "7", wait=0.1)
            assert busy.busy, "a duplicate while the first runs must not be forwarded"
            waiter = asyncio.create_task(store.claim(key, fp, "7", wait=5))
            answer = Stored(201, [("content-type", "application/json")], b'{"id": 1}')
            await store.complete(key, fp, answer, "7")
            replay = (await waiter).replay
            assert replay == answer
            assert (await store.claim(key, fingerprint("POST", "/api/movies", b"[]"), "7")).mismatch
            assert await store.redis.ttl(key) > 86_000
        finally:
            await store.close()
    _run(scenario())


def test_a_released_key_can_be_claimed_again(redis_url):
    async def scenario():
        store = IdempotencyStore(redis_url, pending_seconds=30)
        key, fp = redis_key("7", uuid.uuid4().hex), "fp"
        try:
            assert (await store.claim(key, fp, "7")).claimed
            await store.release(key, "7")
            assert (await store.claim(key, fp, "7")).claimed
        finally:
            await store.close()
    _run(scenario())


def test_a_pending_claim_expires_so_a_dead_gateway_does_not_block_the_key(redis_url):
    async def scenario():
        store = IdempotencyStore(redis_url, pending_seconds=1)
        key = redis_key("7", uuid.uuid4().hex)
        try:
            assert (await store.claim(key, "fp", "7")).claimed
            assert 0 < await store.redis.ttl(key) <= 1
        finally:
            await store.close()
    _run(scenario())


def test_redis_down_means_forward_without_the_guarantee():
    async def scenario():
        store = IdempotencyStore(f"redis://127.0.0.1:{free_port()}/0", pending_seconds=30)
        try:
            assert (await store.claim("idem:x", "fp", "7")).unavailable
        finally:
            await store.close()
    _run(scenario())


def test_a_caller_holds_at_most_max_keys_and_a_released_key_frees_its_place(redis_url):
    async def scenario():
        store = IdempotencyStore(redis_url, pending_seconds=30, quota=Quota(max_keys=3))
        caller, other = f"anon:{uuid.uuid4().hex}", f"anon:{uuid.uuid4().hex}"
        keys = [redis_key(caller, f"k{i}") for i in range(4)]
        try:
            assert all([(await store.claim(key, "fp", caller)).claimed for key in keys[:3]])
            assert (await store.claim(keys[3], "fp", caller)).over_quota
            assert (await store.claim(redis_key(other, "k0"), "fp", other)).claimed, "quota is per caller"
            await store.complete(keys[0], "fp", Stored(201, [], b"{}"), caller)
            assert (await store.claim(keys[0], "fp", caller)).replay is not None, "a held key still replays"
            await store.release(keys[1], caller)
            assert (await store.claim(keys[3], "fp", caller)).claimed
        finally:
            await store.close()
    _run(scenario())


def test_a_large_answer_is_kept_as_status_and_digest(redis_url):
    async def scenario():
        store = IdempotencyStore(redis_url, pending_seconds=30, quota=Quota(max_answer_bytes=1000))
        caller = f"user:{uuid.uuid4().hex}"
        key = redis_key(caller, "big")
        body = b"x" * 40_000
        try:
            assert (await store.claim(key, "fp", caller)).claimed
            await store.complete(key, "fp", Stored(201, [("content-type", "application/json")], body), caller)
            replay = await store.claim(key, "fp", caller)
            assert replay.replay is None and replay.digest is not None
            assert (replay.digest.status, replay.digest.size) == (201, 40_000)
            assert "too large to keep" in replay.digest.error()["error"]
            assert len(await store.redis.get(key)) < 500, "the body itself is not stored"
        finally:
            await store.close()
    _run(scenario())


def test_a_callers_stored_bytes_are_bounded(redis_url):
    """40 KB answers, over and over: the caller's stored bytes never exceed the quota."""
    async def scenario():
        store = IdempotencyStore(redis_url, pending_seconds=30,
                                 quota=Quota(max_keys=1000, max_bytes=100_000, max_answer_bytes=50_000))
        caller = f"user:{uuid.uuid4().hex}"
        body = b"y" * 40_000
        kept = []
        try:
            for i in range(10):
                key = redis_key(caller, f"k{i}")
                assert (await store.claim(key, "fp", caller)).claimed
                await store.complete(key, "fp", Stored(200, [], body), caller)
                kept.append((await store.claim(key, "fp", caller)).replay is not None)
            assert kept == [True, True] + [False] * 8
            total = 0
            for i in range(10):
                total += len(await store.redis.get(redis_key(caller, f"k{i}")))
            assert total < 2 * 40_000 * 4 / 3 + 10 * 500, total
        finally:
            await store.close()
    _run(scenario())


def test_answers_carrying_credentials_are_never_kept():
    assert never_kept("/api/auth/login") and never_kept("/api/auth/refresh") and never_kept("/api/auth/register")
    assert never_kept("/api/users") and never_kept("/api/users/")
    assert not never_kept("/api/movies") and not never_kept("/api/payments") and not never_kept("/api/users/7")
