"""The monolith and the domain services answer identically; writes are atomic with their events;
the real service processes start and serve the contract over HTTP."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.domain_services.conftest import unique
from tests.support.processes import free_port, running

SAME_ANSWER_REQUESTS = {
    "movies": [
        ("GET", "/api/movies?id=1", None), ("GET", "/api/movies?limit=3", None),
        ("GET", "/api/movies?search=godfather", None), ("GET", "/api/movies?id=2147483647", None),
        ("GET", "/api/movies?limit=0", None), ("POST", "/api/movies", {"title": "t", "description": "d",
                                                                       "rating": 11}),
        ("POST", "/api/movies/1/ratings", {"user_id": 1, "rating": 11}),
        ("POST", "/api/movies/2147483647/ratings", {"user_id": 1, "rating": 5}),
    ],
    "users": [
        ("GET", "/api/users?id=1", None), ("GET", "/api/users?limit=3", None),
        ("GET", "/api/users?id=2147483647", None), ("POST", "/api/users", {"username": "user1",
                                                                           "email": "user1@example.com"}),
        ("POST", "/api/auth/register", {"username": "x"}), ("GET", "/api/users/me", None),
        ("POST", "/api/auth/login", {"username": "user1"}),
    ],
    "payments": [
        ("GET", "/api/payments?id=1", None), ("GET", "/api/payments?user_id=1", None),
        ("GET", "/api/subscriptions?id=1", None), ("GET", "/api/subscriptions?user_id=1", None),
        ("GET", "/api/payments?id=2147483647", None),
        ("POST", "/api/payments", {"user_id": 2147483647, "amount": 1}),
        ("POST", "/api/subscriptions", {"user_id": 1, "plan_type": "basic", "start_date": "2026-02-01",
                                        "end_date": "2026-01-01"}),
        ("POST", "/api/payments/2147483647/status", {"status": "completed"}),
    ],
}


@pytest.mark.parametrize("domain", SAME_ANSWER_REQUESTS)
def test_monolith_and_service_answer_identically(apps, domain):
    monolith, service = apps["monolith"].test_client(), apps[domain].test_client()
    for method, path, body in SAME_ANSWER_REQUESTS[domain]:
        a = monolith.open(path, method=method, json=body)
        b = service.open(path, method=method, json=body)
        assert (a.status_code, a.get_data()) == (b.status_code, b.get_data()), (method, path)
        assert a.is_json


def test_writes_answer_in_the_same_shape(apps):
    answers = []
    for app in (apps["monolith"], apps["users"]):
        name = unique("same")
        response = app.test_client().post("/api/users", json={"username": name, "email": f"{name}@x.io"},
                                          headers={"X-User-Id": "1", "X-User-Role": "admin"})
        answers.append((response.status_code, sorted(response.json)))
    assert answers[0] == answers[1] == (201, ["email", "id", "username"])


def _count(db_url: str, sql: str, **params) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar_one()
    finally:
        engine.dispose()


def test_a_failed_write_leaves_neither_row_nor_event(apps, db_url, user):
    client = apps["users"].test_client()
    email = f"{unique()}@example.com"
    events_for_name = ("SELECT count(*) FROM outbox WHERE payload->'payload'->>'username' = :name")
    before = _count(db_url, events_for_name, name=user["username"])
    duplicate = client.post("/api/auth/register",
                            json={"username": user["username"], "email": email, "password": "12345678"})
    assert duplicate.status_code == 409
    assert _count(db_url, "SELECT count(*) FROM users WHERE email = :email", email=email) == 0
    assert _count(db_url, events_for_name, name=user["username"]) == before == 1


def test_a_successful_write_commits_row_and_event_together(apps, db_url, movie, user):
    rated = apps["movies"].test_client().post(f"/api/movies/{movie['id']}/ratings", json={"rating": 9},
                                              headers={"X-User-Id": str(user["id"]), "X-User-Role": "user"})
    assert rated.status_code == 201
    events = _count(db_url, "SELECT count(*) FROM outbox WHERE event_type = 'movie.rated' AND key = :key "
                            "AND (payload->'payload'->>'user_id')::int = :user", key=str(movie["id"]),
                    user=user["id"])
    assert events == 1


SERVICES = [("movies", "/api/movies?id=1"), ("users", "/api/users?id=1"), ("payments", "/api/payments?id=1")]


@pytest.mark.parametrize(("name", "probe"), SERVICES)
def test_the_real_service_process_serves_the_contract(apps, name, probe):
    with running(f"{name}-service", f"domain_services.{name}", port=free_port(),
                 health_path=f"/api/{name}/health") as proc, httpx.Client(base_url=proc.url, timeout=10) as http:
        assert http.get(f"/api/{name}/health").json() == {"status": True}
        assert http.get("/openapi.json").json() == apps[name].test_client().get("/openapi.json").json
        live = http.get(probe)
        local = apps["monolith"].test_client().get(probe)
        assert (live.status_code, live.json()) == (local.status_code, local.json)
        bad = http.post(probe.split("?")[0], content=b"{oops", headers={"Content-Type": "application/json",
                                                                        "X-User-Id": "1", "X-User-Role": "admin"})
        assert bad.status_code == 400 and bad.json() == {"error": "request body is not valid JSON"}


def test_the_users_process_issues_tokens_the_monolith_accepts(apps, user):
    with running("users-service", "domain_services.users", port=free_port(), health_path="/api/users/health") as p:
        token = httpx.post(f"{p.url}/api/auth/login", json={"username": user["username"],
                                                             "password": user["password"]}, timeout=10)
        assert token.status_code == 200
    me = apps["monolith"].test_client().get("/api/users/me",
                                            headers={"Authorization": f"Bearer {token.json()['token']}"})
    assert me.json["id"] == user["id"]
