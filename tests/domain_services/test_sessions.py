"""Sessions: refresh rotation, logout and revocation (row + NOTIFY), disabled and deleted users,
and a login throttle that stays exact under concurrency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import redis
from sqlalchemy import select

from domain_services.users.api import EXTENSION
from domain_services.users.models import RefreshToken
from domain_services.users.throttle import KEY_PREFIX, MAX_FAILURES
from kernel import revocations
from kernel.db import read_session, unit_of_work
from kernel.tokens import REFRESH, decode_claims, verify_claims
from tests.domain_services.conftest import TEST_CLIENT_ADDRESS, unique

ADMIN = {"X-User-Id": "1", "X-User-Role": "admin"}


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def login(client, user: dict):
    response = client.post("/api/auth/login", json={"username": user["username"], "password": user["password"]})
    assert response.status_code == 200, response.json
    return response.json


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def as_user(user: dict) -> dict[str, str]:
    return {"X-User-Id": str(user["id"]), "X-User-Role": "user"}


def test_login_returns_an_access_and_a_refresh_token_with_the_role(users_api, apps, user):
    answer = login(users_api, user)
    signer, _ = apps["users"].extensions[EXTENSION]
    claims = verify_claims(answer["token"], signer.public_pem)
    assert (claims.user_id, claims.role) == (user["id"], "user")
    assert claims.expires_at - claims.issued_at == pytest.approx(answer["expires_in"])
    assert decode_claims(answer["refresh_token"], signer.public_pem, kind=REFRESH)["sub"] == str(user["id"])
    assert answer["refresh_expires_in"] > answer["expires_in"]


def test_refresh_rotates_and_a_reused_refresh_token_ends_every_session(users_api, user):
    first = login(users_api, user)
    second = users_api.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200 and second.json["refresh_token"] != first["refresh_token"]
    assert users_api.get("/api/users/me", headers=bearer(second.json["token"])).json["id"] == user["id"]

    replay = users_api.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and "already used" in replay.json["error"]
    # the reuse revoked everything issued so far, including the pair the legitimate refresh returned
    assert users_api.post("/api/auth/refresh", json={"refresh_token": second.json["refresh_token"]}).status_code == 401
    assert users_api.get("/api/users/me", headers=bearer(second.json["token"])).status_code == 401
    assert login(users_api, user)["user"]["id"] == user["id"]  # logging in again works


@pytest.mark.parametrize("body", [{}, {"refresh_token": 5}, {"refresh_token": "x.y.z"}])
def test_bad_refresh_requests_are_4xx(users_api, body):
    response = users_api.post("/api/auth/refresh", json=body)
    assert response.status_code in (400, 401) and set(response.json) == {"error"}


def test_an_access_token_is_not_a_refresh_token(users_api, user):
    answer = login(users_api, user)
    response = users_api.post("/api/auth/refresh", json={"refresh_token": answer["token"]})
    assert response.status_code == 401 and "expected refresh" in response.json["error"]
    assert users_api.get("/api/users/me", headers=bearer(answer["refresh_token"])).status_code == 401


def _listen(db_url: str) -> psycopg.Connection:
    conn = psycopg.connect(_libpq(db_url), autocommit=True)
    conn.execute(f"LISTEN {revocations.CHANNEL}")
    return conn


def _next_notification(conn: psycopg.Connection) -> tuple[int, float]:
    for notification in conn.notifies(timeout=5, stop_after=1):
        return revocations.parse_notification(notification.payload)
    raise AssertionError("no revocation notification within 5 s")


def _row(db_url: str, user_id: int) -> tuple | None:
    with psycopg.connect(_libpq(db_url)) as conn:
        return conn.execute("SELECT not_before, reason FROM token_revocations WHERE user_id = %s",
                            (user_id,)).fetchone()


def test_logout_writes_the_revocation_row_and_notifies(users_api, db_url, user):
    answer = login(users_api, user)
    listener = _listen(db_url)
    try:
        out = users_api.post("/api/auth/logout", headers=bearer(answer["token"]))
        assert out.status_code == 200 and out.json["user_id"] == user["id"]
        assert _next_notification(listener) == (user["id"], out.json["not_before"])
    finally:
        listener.close()
    not_before, reason = _row(db_url, user["id"])
    assert (not_before, reason) == (out.json["not_before"], "logout")
    assert users_api.get("/api/users/me", headers=bearer(answer["token"])).json == {"error": "token revoked"}
    assert users_api.post("/api/auth/refresh", json={"refresh_token": answer["refresh_token"]}).status_code == 401
    fresh = login(users_api, user)  # a token issued after the cut-off is good
    assert users_api.get("/api/users/me", headers=bearer(fresh["token"])).status_code == 200


def test_revoke_self_other_and_as_admin(users_api, db_url, user, apps):
    name = unique("v")
    victim = apps["users"].test_client().post("/api/users", json={"username": name, "email": f"{name}@x.io"},
                                              headers=ADMIN).json
    refused = users_api.post("/api/auth/revoke", json={"user_id": victim["id"]}, headers=as_user(user))
    assert refused.status_code == 403 and _row(db_url, victim["id"]) is None
    assert users_api.post("/api/auth/revoke").status_code == 401  # anonymous
    listener = _listen(db_url)
    try:
        by_admin = users_api.post("/api/auth/revoke", json={"user_id": victim["id"]}, headers=ADMIN)
        assert by_admin.status_code == 200
        assert _next_notification(listener) == (victim["id"], by_admin.json["not_before"])
    finally:
        listener.close()
    own = users_api.post("/api/auth/revoke", headers=as_user(user))
    assert own.status_code == 200 and own.json["user_id"] == user["id"]
    assert users_api.post("/api/auth/revoke", json={"user_id": 2147483647}, headers=ADMIN).status_code == 404


def test_disabling_a_user_revokes_tokens_and_blocks_login(users_api, db_url, user):
    answer = login(users_api, user)
    changed = users_api.patch(f"/api/users/{user['id']}", json={"disabled": True}, headers=ADMIN)
    assert changed.status_code == 200
    assert _row(db_url, user["id"])[1] == "user disabled"
    assert users_api.get("/api/users/me", headers=bearer(answer["token"])).status_code == 401
    blocked = users_api.post("/api/auth/login", json={"username": user["username"], "password": user["password"]})
    assert blocked.status_code == 403 and blocked.json == {"error": "account disabled"}
    self_enable = users_api.patch(f"/api/users/{user['id']}", json={"disabled": False}, headers=as_user(user))
    assert self_enable.status_code == 403


def test_deleting_a_user_revokes_their_tokens(users_api, db_url, user):
    answer = login(users_api, user)
    assert users_api.delete(f"/api/users/{user['id']}", headers=as_user(user)).status_code == 204
    assert _row(db_url, user["id"])[1] == "user deleted"
    assert users_api.get("/api/users/me", headers=bearer(answer["token"])).status_code == 401


def test_login_ignores_a_stale_authorization_header(users_api, user):
    response = users_api.post("/api/auth/login", json={"username": user["username"], "password": user["password"]},
                              headers=bearer("stale.expired.token"))
    assert response.status_code == 200


def test_thirty_concurrent_wrong_logins_get_at_most_the_allowed_tries(apps, user, redis_url):
    redis.Redis.from_url(redis_url).delete(KEY_PREFIX + f"{TEST_CLIENT_ADDRESS}|" + user["username"].casefold())
    app = apps["users"]
    start = threading.Barrier(30)

    def attempt(_: int) -> int:
        client = app.test_client()
        start.wait()
        return client.post("/api/auth/login", json={"username": user["username"], "password": "wrong-pass"}
                           ).status_code

    with ThreadPoolExecutor(30) as pool:
        statuses = list(pool.map(attempt, range(30)))
    # The process's check gate may refuse some at once too: never more than the allowed tries get checked.
    assert 1 <= statuses.count(401) <= MAX_FAILURES
    assert statuses.count(429) == 30 - statuses.count(401)


def test_expired_refresh_rows_are_dropped_at_the_next_login(users_api, user):
    with unit_of_work() as uow:
        uow.session.add(RefreshToken(jti=unique("old"), user_id=user["id"],
                                     expires_at=datetime.now(UTC) - timedelta(days=1)))
    login(users_api, user)
    with read_session() as session:
        rows = session.execute(select(RefreshToken.expires_at).where(RefreshToken.user_id == user["id"])).all()
    assert len(rows) == 1 and rows[0].expires_at > datetime.now(UTC)
