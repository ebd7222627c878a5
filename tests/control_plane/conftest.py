"""Console fixtures: the app on the test database, one operator per role, a logged-in client helper."""

from __future__ import annotations

import re

import pytest

from control_plane.models import OPERATOR_ROLES

PASSWORD = "correct-horse-battery"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def operator_name(role: str) -> str:
    """The test account holding ``role``."""
    return f"test-{role}"


@pytest.fixture(scope="session")
def operators(db_url) -> dict[str, str]:
    """One active operator per role (password ``PASSWORD``), created or reset once per session."""
    from control_plane import operators as service

    names = {}
    for role in OPERATOR_ROLES:
        name = operator_name(role)
        existing = service.find_by_username(name)
        if existing is None:
            service.create_operator(name, role, PASSWORD, actor="tests")
        else:
            service.update_operator(existing.id, {"role": role, "active": True, "password": PASSWORD}, actor="tests")
        names[role] = name
    return names


@pytest.fixture(scope="session")
def console_app(db_url, operators):
    """The console app bound to the test database (CSRF on, as in production)."""
    from control_plane import create_app
    from kernel.settings import load_settings

    app = create_app(load_settings(secret_key="test-secret-key"))
    app.testing = True
    return app


def csrf_from(html: str) -> str:
    """The CSRF token embedded in a rendered page."""
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


class Console:
    """A test client plus helpers: log in as a role, post with the page's CSRF token."""

    def __init__(self, app) -> None:
        self.client = app.test_client()
        self.token: str | None = None

    def login(self, username: str, password: str = PASSWORD):
        token = csrf_from(self.client.get("/login").get_data(as_text=True))
        response = self.client.post("/login", data={"username": username, "password": password,
                                                    "csrf_token": token})
        if response.status_code == 302:
            self.token = csrf_from(self.client.get("/audit").get_data(as_text=True))
        return response

    def post(self, path: str, data: dict | None = None, **kwargs):
        return self.client.post(path, data={**(data or {}), "csrf_token": self.token}, **kwargs)

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)


@pytest.fixture
def console(console_app) -> Console:
    """An anonymous console client."""
    return Console(console_app)


@pytest.fixture
def as_role(console_app, operators):
    """``as_role("ops")`` → a console client logged in with that role."""

    def login(role: str) -> Console:
        client = Console(console_app)
        response = client.login(operators[role])
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return login


@pytest.fixture(scope="session")
def kafka_topic(kafka_brokers) -> str:
    """A throw-away topic (one partition) with one message carrying an e-mail address."""
    import uuid

    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    name = f"console-test-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": kafka_brokers})
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(10)
    producer = Producer({"bootstrap.servers": kafka_brokers})
    producer.produce(name, key=b"42", value=b'{"type": "user", "action": "created", '
                                             b'"payload": {"email": "alice@example.com"}}')
    assert producer.flush(10) == 0
    yield name
    admin.delete_topics([name])[name].result(10)
