"""Sign-up, login, ``/api/users/me``, token rejection and login throttling (both deployments)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain_services.users.api import EXTENSION
from tests.domain_services.conftest import unique


def login(client, username: str, password: str):
    return client.post("/api/auth/login", json={"username": username, "password": password})


ADMIN = {"X-User-Id": "1", "X-User-Role": "admin"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_register_login_me(users_api):
    name = unique("a")
    registered = users_api.post("/api/auth/register",
                                json={"username": name, "email": f"{name}@example.com", "password": "s3cret-pass"})
    assert registered.status_code == 201
    assert registered.json == {"id": registered.json["id"], "username": name, "email": f"{name}@example.com"}
    answer = login(users_api, name, "s3cret-pass")
    assert answer.status_code == 200
    assert answer.json["token_type"] == "Bearer" and answer.json["expires_in"] > 0
    assert answer.json["user"] == registered.json
    assert users_api.get("/api/users/me", headers=bearer(answer.json["token"])).json == registered.json


def test_tokens_of_one_deployment_work_on_the_other(apps, user):
    token = login(apps["users"].test_client(), user["username"], user["password"]).json["token"]
    assert apps["monolith"].test_client().get("/api/users/me", headers=bearer(token)).json["id"] == user["id"]


@pytest.mark.parametrize(("body", "fragment"), [
    ({"password": "short"}, "password"),
    ({"password": "x" * 129}, "password"),
    ({"password": 12345678}, "password must be a string"),
    ({}, "missing required field: password"),
])
def test_invalid_passwords_are_rejected(users_api, body, fragment):
    name = unique("p")
    response = users_api.post("/api/auth/register", json={"username": name, "email": f"{name}@x.io", **body})
    assert response.status_code == 400 and fragment in response.json["error"]


def test_duplicate_registration_is_409_without_saying_which_field(users_api, user):
    same_name = users_api.post("/api/auth/register",
                               json={"username": user["username"], "email": f"{unique()}@x.io", "password": "12345678"})
    same_mail = users_api.post("/api/auth/register",
                               json={"username": unique(), "email": user["email"].upper(), "password": "12345678"})
    assert same_name.status_code == same_mail.status_code == 409
    assert same_name.json == same_mail.json == {"error": "username or email already registered"}


@pytest.mark.parametrize(("headers", "status"), [({}, 401), ({"X-User-Id": "5"}, 403),
                                                  ({"X-User-Id": "5", "X-User-Role": "editor"}, 403)])
def test_legacy_passwordless_sign_up_is_for_admins_and_services_only(users_api, headers, status):
    name = unique("sq")
    response = users_api.post("/api/users", json={"username": name, "email": f"{name}@x.io"}, headers=headers)
    assert response.status_code == status and "error" in response.json
    service = users_api.post("/api/users", json={"username": name, "email": f"{name}@x.io"},
                             headers={"X-User-Id": "1", "X-User-Role": "service"})
    assert service.status_code == 201


def test_wrong_password_and_unknown_user_answer_the_same(users_api, user):
    wrong = login(users_api, user["username"], "not-the-password")
    unknown = login(users_api, unique("ghost"), "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json == {"error": "invalid username or password"}


def test_legacy_user_without_password_cannot_log_in(users_api):
    name = unique("l")
    created = users_api.post("/api/users", json={"username": name, "email": f"{name}@x.io"}, headers=ADMIN)
    assert created.status_code == 201
    assert login(users_api, name, "anything-at-all").status_code == 401


@pytest.mark.parametrize("body", [{"username": "x"}, {"password": "x"}, {"username": "x", "password": 5}])
def test_login_needs_username_and_password_strings(users_api, body):
    assert users_api.post("/api/auth/login", json=body).status_code == 400


def test_me_rejects_missing_expired_and_tampered_tokens(users_api, apps, user):
    signer, _ = apps["users"].extensions[EXTENSION]
    from kernel.tokens import issue_token

    expired = issue_token(user["id"], signer.private_pem, 60, now=datetime.now(UTC) - timedelta(hours=2))
    good = issue_token(user["id"], signer.private_pem, 60)
    head, payload, signature = good.split(".")
    tampered_signature = f"{head}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    for headers, fragment in [
        ({}, "missing bearer token"),
        ({"Authorization": "Basic abc"}, "missing bearer token"),
        (bearer(expired), "expired"),
        (bearer(tampered_signature), "invalid token"),
        (bearer("not.a.token"), "invalid token"),
    ]:
        response = users_api.get("/api/users/me", headers=headers)
        assert response.status_code == 401 and fragment in response.json["error"], (headers, response.json)


def test_failed_logins_are_throttled_then_blocked_even_with_the_right_password(users_api, user, redis_url):
    for _ in range(5):
        assert login(users_api, user["username"], "wrong-password").status_code == 401
    blocked = login(users_api, user["username"], user["password"])
    assert blocked.status_code == 429 and "too many" in blocked.json["error"]


def test_a_successful_login_resets_the_counter(users_api, user, redis_url):
    for _ in range(4):
        login(users_api, user["username"], "wrong-password")
    assert login(users_api, user["username"], user["password"]).status_code == 200
    for _ in range(4):
        assert login(users_api, user["username"], "wrong-password").status_code == 401
