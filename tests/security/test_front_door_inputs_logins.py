"""Password work is bounded: per address, per username and address, per process — and never against the owner.

The users app runs on the real PostgreSQL and Redis; callers are told apart by the
``X-Forwarded-For`` hop the gateway appends (the address it saw).
"""

from __future__ import annotations

import dataclasses
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from control_plane.login_limits import MAX_FAILURES, MAX_PER_ADDRESS
from domain_services.users.app import create_app as users_app
from kernel.db import read_session
from kernel.models import FlagAudit
from tests.control_plane.conftest import PASSWORD as CONSOLE_PASSWORD
from tests.control_plane.conftest import console_app, csrf_from, operators  # noqa: F401  (fixtures)
from tests.domain_services.conftest import unique

PASSWORD = "correct horse battery"


def an_address() -> str:
    """A fresh client address (counters live in Redis for a window; each test uses its own)."""
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def from_(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": f"198.51.100.1, {address}"}  # the last hop is the one the gateway saw


@pytest.fixture(scope="module")
def tight(db_url, settings):
    """A users app with small budgets: 3 password checks a minute and 2 sign-ups an hour per address."""
    app = users_app(dataclasses.replace(settings, password_checks_per_address=3, signups_per_address=2,
                                        password_check_concurrency=1, password_check_queue=1))
    app.testing = True
    return app


@pytest.fixture
def owner(tight) -> dict:
    name = unique("own")
    response = tight.test_client().post("/api/auth/register", headers=from_(an_address()),
                                        json={"username": name, "email": f"{name}@example.com", "password": PASSWORD})
    assert response.status_code == 201, response.json
    return {"username": name}


def login(client, username: str, password: str, address: str):
    return client.post("/api/auth/login", json={"username": username, "password": password}, headers=from_(address))


def test_an_address_beyond_its_password_checks_gets_429_with_retry_after_at_once(tight, owner):
    client, flooder = tight.test_client(), an_address()
    statuses = [login(client, unique("nobody"), "wrong-password", flooder).status_code for _ in range(3)]
    refused = login(client, unique("nobody"), "wrong-password", flooder)
    assert statuses == [401, 401, 401]
    assert refused.status_code == 429 and "address" in refused.json["error"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # the owner, elsewhere, is untouched by that address's budget
    assert login(client, owner["username"], PASSWORD, an_address()).status_code == 200


def test_five_wrong_passwords_from_one_address_never_lock_the_owner_out(db_url, settings):
    app = users_app(dataclasses.replace(settings, password_checks_per_address=1000))
    app.testing = True
    client, attacker, name = app.test_client(), an_address(), unique("own")
    registered = client.post("/api/auth/register", headers=from_(an_address()),
                             json={"username": name, "email": f"{name}@example.com", "password": PASSWORD})
    assert registered.status_code == 201
    variants = [name, name.upper(), f" {name} ", name.title(), name.swapcase()]
    assert [login(client, n, "wrong-password", attacker).status_code for n in variants] == [401] * 5
    blocked = login(client, name, PASSWORD, attacker)
    assert blocked.status_code == 429 and "username" in blocked.json["error"] and "Retry-After" in blocked.headers
    assert login(client, name, PASSWORD, an_address()).status_code == 200


def test_sign_ups_are_throttled_per_address(tight):
    client, address = tight.test_client(), an_address()

    def register():
        name = unique("su")
        return client.post("/api/auth/register", headers=from_(address),
                           json={"username": name, "email": f"{name}@example.com", "password": PASSWORD})

    assert [register().status_code for _ in range(2)] == [201, 201]
    third = register()
    assert third.status_code == 429 and "sign-ups" in third.json["error"] and "Retry-After" in third.headers
    name = unique("su")
    other = client.post("/api/auth/register", headers=from_(an_address()),
                        json={"username": name, "email": f"{name}@example.com", "password": PASSWORD})
    assert other.status_code == 201


def test_forty_concurrent_logins_from_many_addresses_are_bounded_by_the_process_gate(tight):
    start = threading.Barrier(40)

    def attempt(_: int):
        client = tight.test_client()
        start.wait()
        return login(client, unique("nobody"), "wrong-password", an_address())

    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(attempt, range(40)))
    statuses = [a.status_code for a in answers]
    refused = [a for a in answers if a.status_code == 429]
    assert statuses.count(401) + len(refused) == 40
    assert len(refused) >= 20, statuses  # one check runs and one waits; the rest cannot all have fitted in
    assert all(a.headers["Retry-After"] == "1" and "in progress" in a.json["error"] for a in refused)


# -- the console ---------------------------------------------------------------------------------------------


def _console_client(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client, token


def test_forty_concurrent_wrong_console_passwords_get_at_most_five_real_checks(console_app, operators):  # noqa: F811
    address, start = an_address(), threading.Barrier(40)
    clients = [_console_client(console_app, address) for _ in range(40)]

    def attempt(index: int) -> int:
        client, token = clients[index]
        start.wait()
        return client.post("/login", data={"username": operators["viewer"], "password": "wrong-password!",
                                           "csrf_token": token}).status_code

    with ThreadPoolExecutor(40) as pool:
        statuses = list(pool.map(attempt, range(40)))
    assert statuses.count(401) <= MAX_FAILURES and statuses.count(429) == 40 - statuses.count(401)
    # the operator, from their own address, still gets in
    client, token = _console_client(console_app, an_address())
    ok = client.post("/login", data={"username": operators["viewer"], "password": CONSOLE_PASSWORD,
                                     "csrf_token": token})
    assert ok.status_code == 302


def test_failed_console_logins_write_bounded_audit_rows_without_attacker_chosen_actors(console_app):  # noqa: F811
    address = an_address()
    client, token = _console_client(console_app, address)
    names = [f"<script>{unique('x')}" + "A" * 500 for _ in range(MAX_PER_ADDRESS + 10)]
    statuses = [client.post("/login", data={"username": n, "password": "wrong-password!", "csrf_token": token}
                            ).status_code for n in names]
    assert statuses[:MAX_PER_ADDRESS] == [401] * MAX_PER_ADDRESS
    refused = client.post("/login", data={"username": names[0], "password": "x", "csrf_token": token})
    assert set(statuses[MAX_PER_ADDRESS:]) == {429} and "Retry-After" in refused.headers
    with read_session() as session:
        rows = session.execute(select(FlagAudit.actor).where(FlagAudit.action == "operator.login_failed",
                                                             FlagAudit.after["ip"].astext == address)).all()
    assert len(rows) == MAX_PER_ADDRESS
    assert {row.actor for row in rows} == {"-"}
