"""A direct call to a service port cannot claim to be an admin: services accept only the identity
the gateway signed (live: the real users service, unsigned identity not allowed)."""

from __future__ import annotations

import secrets

import httpx
import pytest

from kernel.tokens import issue_token
from strangler import flags
from tests.proxy.conftest import (  # noqa: F401 - fixtures
    clean_flags,
    health,
    monolith,
    movies_service,
    proxy_factory,
    upstream_factory,
)
from tests.support.processes import free_port, start_process, wait_until

SECRET = secrets.token_urlsafe(32)


@pytest.fixture
def strict_users(db_url):
    """The users service with the signature required (as deployed)."""
    proc = start_process("users-service", "domain_services.users", port=free_port(), health_path="/api/users/health",
                         env={"IDENTITY_UNSIGNED_ALLOWED": "false", "IDENTITY_SECRET": SECRET})
    yield proc
    proc.stop()


@pytest.mark.parametrize("headers", [
    {"X-User-Id": "1", "X-User-Role": "admin"},
    {"X-User-Id": "1", "X-User-Role": "admin", "X-Identity-Signature": "1800000000." + "0" * 64},
    {"X-User-Id": "1"},
])
def test_unsigned_or_forged_identity_at_a_service_port_is_refused(strict_users, headers):
    response = httpx.get(f"{strict_users.url}/api/users?id=1", headers=headers)
    assert response.status_code == 401 and response.headers["content-type"].startswith("application/json")
    assert "signature" in response.json()["error"]


def test_anonymous_calls_still_work_without_a_signature(strict_users):
    assert httpx.get(f"{strict_users.url}/api/users").status_code == 200


def test_the_gateway_signs_what_it_verified(proxy_factory, strict_users, db_url, jwt_keys):  # noqa: F811
    admin = {"Authorization": f"Bearer {issue_token(1, jwt_keys[0], 300, role='admin')}"}
    gateway = proxy_factory(USERS_SERVICE_URL=strict_users.url, IDENTITY_SECRET=SECRET)
    flags.set_flag("users", {"mode": "service", "auto_rollback": False}, "test", url=db_url)
    wait_until(lambda: health(gateway)["flags"]["users"]["mode"] == "service", timeout=5)
    response = httpx.get(f"{gateway.url}/api/users?id=1", headers={**admin, "X-Identity-Signature": "forged"})
    assert response.headers["x-upstream"] == "users"
    assert response.status_code in (200, 404), response.text  # the admin is served (whether user 1 exists)
    # a gateway with another secret is not believed
    stranger = proxy_factory(USERS_SERVICE_URL=strict_users.url, IDENTITY_SECRET="not-the-secret")
    refused = httpx.get(f"{stranger.url}/api/users?id=1", headers=admin)
    assert refused.status_code == 401 and "signature" in refused.json()["error"]
