"""The Idempotency-Key store cannot be filled, cannot replay credentials, and is namespaced by who
the gateway verified (live gateway in front of recording upstreams, real Redis)."""

from __future__ import annotations

import uuid

import httpx
import pytest

pytestmark = pytest.mark.usefixtures("no_stored_keys")  # quotas start from an empty store


def _post(gateway, path: str, key: str, headers: dict[str, str] | None = None, body: bytes = b"{}") -> httpx.Response:
    return httpx.post(f"{gateway.url}{path}", content=body, timeout=5,
                      headers={"Content-Type": "application/json", "Idempotency-Key": key, **(headers or {})})


def _forwarded(backends, path: str) -> int:
    return sum(1 for entry in backends.recorded() if entry["path"] == path and entry["method"] == "POST")


def test_a_refresh_with_an_idempotency_key_is_never_replayed(gateway, backends):
    """A replayed refresh would hand out a spent token pair and bypass reuse detection."""
    key = uuid.uuid4().hex
    for path in ("/api/auth/refresh", "/api/auth/login"):
        first = _post(gateway, path, key, body=b'{"refresh_token": "x"}')
        second = _post(gateway, path, key, body=b'{"refresh_token": "x"}')
        assert first.status_code == second.status_code == 200
        assert "idempotent-replayed" not in second.headers
        assert _forwarded(backends, path) == 2, f"{path}: both requests must reach the users side"


def test_anonymous_keys_are_namespaced_by_address_not_by_the_client_sent_user_id(gateway_factory, backends):
    """New ``X-User-Id`` per request: still one caller, one quota."""
    gateway = gateway_factory(PROXY_IDEMPOTENCY_MAX_KEYS="3")
    statuses = [_post(gateway, "/api/payments/webhook", uuid.uuid4().hex, {"X-User-Id": str(7000 + i)}).status_code
                for i in range(5)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    refused = _post(gateway, "/api/payments/webhook", uuid.uuid4().hex, {"X-User-Id": "1"})
    assert refused.status_code == 429 and "Idempotency-Key" in refused.json()["error"]
    assert _forwarded(backends, "/api/payments/webhook") == 3, "nothing over quota is forwarded"
    # and a sent X-User-Id does not reach someone else's key: the same key replays within the address
    key = "shared-key"
    gateway2 = gateway_factory()
    first = _post(gateway2, "/api/payments/webhook", key, {"X-User-Id": "1"})
    second = _post(gateway2, "/api/payments/webhook", key, {"X-User-Id": "2"})
    assert first.status_code == 200 and second.headers.get("idempotent-replayed") == "true"


def test_a_verified_users_quota_is_their_own(gateway_factory, token_for):
    gateway = gateway_factory(PROXY_IDEMPOTENCY_MAX_KEYS="2")
    for user in (501, 502):
        auth = {"Authorization": f"Bearer {token_for('user', user_id=user)}"}
        statuses = [_post(gateway, "/api/payments", uuid.uuid4().hex, auth).status_code for _ in range(3)]
        assert statuses == [200, 200, 429], user


def test_a_large_answer_is_kept_as_a_digest_and_its_replay_is_a_409(gateway_factory, token_for, backends):
    gateway = gateway_factory(PROXY_IDEMPOTENCY_MAX_ANSWER_BYTES="64")  # the recorder's echo is larger
    auth = {"Authorization": f"Bearer {token_for('user', user_id=503)}"}
    key = uuid.uuid4().hex
    first = _post(gateway, "/api/payments", key, auth)
    assert first.status_code == 200 and len(first.content) > 64
    replay = _post(gateway, "/api/payments", key, auth)
    assert replay.status_code == 409 and replay.headers["content-type"] == "application/json"
    body = replay.json()
    assert "too large to keep" in body["error"] and body["status"] == 200 and body["size"] == len(first.content)
    assert _forwarded(backends, "/api/payments") == 1, "the replay must not repeat the write"
