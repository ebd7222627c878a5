"""Fixtures of the domain-service suites: each deployment's app, and small request helpers."""

from __future__ import annotations

import dataclasses
import importlib
import uuid

import pytest
from flask.testing import FlaskClient

from domain_services.monolith.app import create_app as monolith_app
from kernel import registry

#: The address in-process test clients call from (TEST-NET-1, never a real client).
TEST_CLIENT_ADDRESS = "192.0.2.10"


class TestNetClient(FlaskClient):
    """A Flask test client calling from :data:`TEST_CLIENT_ADDRESS`."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.environ_base["REMOTE_ADDR"] = TEST_CLIENT_ADDRESS


#: Each domain the monolith also serves, built on its own (``<package>.app.create_app``).
SERVICE_FACTORIES = {name: importlib.import_module(f"{registry.domain(name).package}.app").create_app
                     for name in registry.FLAGGED}
DEPLOYMENTS = ("monolith", "service")


def unique(prefix: str = "t") -> str:
    """A name no other test (or earlier run) uses: the test database is shared."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def apps(db_url, settings):
    """One app per deployment, built once: ``{"monolith": app, "movies": app, ...}``."""
    # Every test client calls from one address: per-address budgets are raised here (and tested on
    # apps of their own, tests/security/test_front_door_inputs_logins.py). That address is not
    # 127.0.0.1, whose counters (shared in Redis) the service processes other tests start count.
    roomy = dataclasses.replace(settings, password_checks_per_address=1_000_000, signups_per_address=1_000_000)
    built = {"monolith": monolith_app(roomy)}
    built.update({name: factory(roomy) for name, factory in SERVICE_FACTORIES.items()})
    for app in built.values():
        app.testing = True
        app.test_client_class = TestNetClient
    return built


def _client(apps, domain: str, deployment: str):
    return apps["monolith" if deployment == "monolith" else domain].test_client()


@pytest.fixture(params=DEPLOYMENTS)
def movies_api(request, apps):
    """Test client of the movies domain, once per deployment."""
    return _client(apps, "movies", request.param)


@pytest.fixture(params=DEPLOYMENTS)
def users_api(request, apps):
    """Test client of the users domain, once per deployment."""
    return _client(apps, "users", request.param)


@pytest.fixture(params=DEPLOYMENTS)
def payments_api(request, apps):
    """Test client of the payments domain, once per deployment."""
    return _client(apps, "payments", request.param)


@pytest.fixture
def user(apps) -> dict:
    """A freshly registered user ``{id, username, email, password}``."""
    name = unique("u")
    password = "correct horse battery"
    response = apps["users"].test_client().post(
        "/api/auth/register", json={"username": name, "email": f"{name}@example.com", "password": password}
    )
    assert response.status_code == 201, response.json
    return {**response.json, "password": password}


@pytest.fixture
def movie(apps) -> dict:
    """A fresh movie with a unique genre."""
    response = apps["movies"].test_client().post(
        "/api/movies", json={"title": unique("Movie "), "description": "d", "rating": 5, "genres": [unique("g")]}
    )
    assert response.status_code == 201, response.json
    return response.json
