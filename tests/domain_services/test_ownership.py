"""Ownership where the data lives: who may read and change which user's data (both deployments).

The caller is what the gateway's ``X-User-Id``/``X-User-Role`` headers say; a call without
them (anonymous, or straight to a service port) has no rights to anyone's data. The matrix
below is the table the services enforce: caller, route, whose data -> status.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain_services.payments import services as payments
from domain_services.payments import subscriptions
from tests.domain_services.conftest import DEPLOYMENTS, unique

CALLERS = ("owner", "other", "admin", "service", "editor", "anonymous")


def _headers(caller: str, owner: dict, other: dict) -> dict[str, str]:
    return {
        "owner": {"X-User-Id": str(owner["id"]), "X-User-Role": "user"},
        "other": {"X-User-Id": str(other["id"]), "X-User-Role": "user"},
        "admin": {"X-User-Id": str(other["id"]), "X-User-Role": "admin"},
        "service": {"X-User-Id": str(other["id"]), "X-User-Role": "service"},
        "editor": {"X-User-Id": str(other["id"]), "X-User-Role": "editor"},
        "anonymous": {},
    }[caller]


#: Password-less accounts are provisioned by admins and services only.
PROVISIONING = {"X-User-Id": "1", "X-User-Role": "service"}


@pytest.fixture
def owner(apps) -> dict:
    name = unique("own")
    return apps["users"].test_client().post(
        "/api/users", json={"username": name, "email": f"{name}@example.com"}, headers=PROVISIONING).json


@pytest.fixture
def other(apps) -> dict:
    name = unique("oth")
    return apps["users"].test_client().post(
        "/api/users", json={"username": name, "email": f"{name}@example.com"}, headers=PROVISIONING).json


@pytest.fixture
def owned(owner) -> dict:
    """A pending payment and a subscription of ``owner``, made in-process by the payment side."""
    now = datetime.now(UTC)
    payment = payments.create_payment({"user_id": owner["id"], "amount": 19.99, "plan_type": "premium"})
    sub = subscriptions.create_subscription({"user_id": owner["id"], "plan_type": "basic",
                                             "start_date": now.isoformat(),
                                             "end_date": (now + timedelta(days=30)).isoformat()})
    return {"payment": payment["id"], "subscription": sub["id"]}


# (method, path template, body, {caller: expected status})
MATRIX = [
    ("GET", "/api/payments?id={payment}", None,
     {"owner": 200, "other": 403, "admin": 200, "service": 200, "editor": 403, "anonymous": 401}),
    ("GET", "/api/payments?user_id={owner}", None,
     {"owner": 200, "other": 403, "admin": 200, "service": 200, "editor": 403, "anonymous": 401}),
    ("POST", "/api/payments", {"user_id": "{owner}", "amount": 9.99, "plan_type": "basic"},
     {"owner": 201, "other": 403, "admin": 201, "service": 201, "editor": 403, "anonymous": 401}),
    ("POST", "/api/payments/{payment}/status", {"status": "failed"},
     {"owner": 403, "other": 403, "admin": 200, "service": 200, "editor": 403, "anonymous": 401}),
    ("GET", "/api/subscriptions?id={subscription}", None,
     {"owner": 200, "other": 403, "admin": 200, "service": 200, "editor": 403, "anonymous": 401}),
    ("GET", "/api/subscriptions?user_id={owner}", None,
     {"owner": 200, "other": 403, "admin": 200, "service": 200, "editor": 403, "anonymous": 401}),
    ("POST", "/api/subscriptions", {"user_id": "{owner}", "plan_type": "premium", "start_date": "2026-01-01",
                                    "end_date": "2026-02-01"},
     {"owner": 403, "other": 403, "admin": 201, "service": 201, "editor": 403, "anonymous": 401}),
    ("PATCH", "/api/subscriptions/{subscription}", {"auto_renew": True},
     {"owner": 200, "other": 403, "admin": 200, "service": 200, "editor": 403, "anonymous": 401}),
    ("PATCH", "/api/subscriptions/{subscription}", {"end_date": "2099-01-01"},
     {"owner": 403, "other": 403, "admin": 200, "service": 200, "editor": 403, "anonymous": 401}),
    ("PATCH", "/api/users/{owner}", {"username": "{fresh}"},
     {"owner": 200, "other": 403, "admin": 200, "service": 200, "editor": 403, "anonymous": 401}),
    ("PATCH", "/api/users/{owner}", {"role": "admin"},
     {"owner": 403, "other": 403, "admin": 200, "service": 403, "editor": 403, "anonymous": 401}),
]


def _fill(value, ids: dict):
    if isinstance(value, str):
        filled = value.format(**ids)
        return int(filled) if value.startswith("{") and filled.isdigit() else filled
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX,
                         ids=[f"{m} {p} {sorted(b or {})}" for m, p, b, _ in MATRIX])
def test_ownership_matrix(apps, owner, other, owned, caller, method, path, body, expected, deployment):
    domain = "users" if path.startswith("/api/users") else "payments"
    client = apps["monolith" if deployment == "monolith" else domain].test_client()
    ids = {"owner": owner["id"], "payment": owned["payment"], "subscription": owned["subscription"],
           "fresh": unique("ren")}
    response = client.open(_fill(path, ids), method=method, json=_fill(body, ids) if body else None,
                           headers=_headers(caller, owner, other))
    assert response.status_code == expected[caller], response.get_data(as_text=True)
    if response.status_code >= 400:
        assert set(response.json) == {"error"}


@pytest.mark.parametrize("caller", CALLERS)
def test_a_user_lists_only_their_own_payments(payments_api, owner, other, owned, caller):
    listed = payments_api.get("/api/payments", headers=_headers(caller, owner, other))
    if caller == "anonymous":
        assert listed.status_code == 401
    elif caller in ("owner", "other", "editor"):
        me = owner["id"] if caller == "owner" else other["id"]
        assert listed.status_code == 200 and {p["user_id"] for p in listed.json} <= {me}
    else:
        assert owned["payment"] in {p["id"] for p in listed.json}


def test_emails_only_for_the_user_themself_or_an_admin(users_api, owner, other):
    path = f"/api/users?id={owner['id']}"
    assert users_api.get(path).json["email"] is None
    assert users_api.get(path, headers=_headers("other", owner, other)).json["email"] is None
    assert users_api.get(path, headers=_headers("owner", owner, other)).json["email"] == owner["email"]
    assert users_api.get(path, headers=_headers("admin", owner, other)).json["email"] == owner["email"]
    listed = users_api.get("/api/users").json
    assert all(u["email"] is None for u in listed) and set(listed[0]) == {"id", "username", "email"}


def test_anonymous_search_does_not_match_emails(users_api, owner):
    secret_part = owner["email"].split("@")[0][-8:]
    assert users_api.get(f"/api/users?search={owner['username']}").json == [{**owner, "email": None}]
    assert users_api.get(f"/api/users?search={secret_part}@").json == []
    admin = {"X-User-Id": "1", "X-User-Role": "admin"}
    assert users_api.get(f"/api/users?search={secret_part}@", headers=admin).json == [owner]


def test_a_user_cannot_pay_for_someone_else_by_default(payments_api, owner):
    mine = payments_api.post("/api/payments", json={"amount": 9.99, "plan_type": "basic"},
                             headers=_headers("owner", owner, owner))
    assert mine.status_code == 201 and mine.json["user_id"] == owner["id"]


@pytest.mark.parametrize("headers", [{"X-User-Id": "abc"}, {"X-User-Id": "1", "X-User-Role": "root"}])
def test_identity_headers_no_gateway_sends_are_400(payments_api, headers):
    response = payments_api.get("/api/payments", headers=headers)
    assert response.status_code == 400 and "X-User" in response.json["error"]
