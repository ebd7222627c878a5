"""Every route by every role (and anonymous) → the expected status."""

from __future__ import annotations

import pytest

from tests.control_plane.conftest import csrf_from

ALL = {"admin": 200, "ops": 200, "editor": 200, "viewer": 200}
CATALOGUE = {"admin": 200, "ops": 403, "editor": 200, "viewer": 403}
ADMIN_ONLY = {"admin": 200, "ops": 403, "editor": 403, "viewer": 403}
WRITE_OPS = {"admin": 302, "ops": 302, "editor": 403, "viewer": 403}

GET_ROUTES = {
    "/": ALL,
    "/strangler": ALL,
    "/strangler/movies/card": ALL,
    "/strangler/movies/live": ALL,
    "/audit": ALL,
    "/kafka": ALL,
    "/kafka/{topic}": ALL,
    "/kafka/{topic}/messages": ALL,
    "/kafka/{topic}/export.json": ALL,
    "/kafka/{topic}/groups": ALL,
    "/events": ALL,
    "/dashboard/flags": ALL,
    "/dashboard/traffic.json": ALL,
    "/status": ALL,
    "/admin/": CATALOGUE,
    "/admin/movies/": CATALOGUE,
    "/admin/movies/new/": CATALOGUE,
    "/admin/users/": ADMIN_ONLY,
    "/admin/payments/": ADMIN_ONLY,
    "/admin/subscriptions/": ADMIN_ONLY,
    "/admin/operators/": ADMIN_ONLY,
}
POST_ROUTES = {
    "/strangler/payments/settings": (WRITE_OPS, {"fallback": "on", "auto_rollback": "on", "reason": "authz test"}),
    "/strangler/payments/mode": (WRITE_OPS, {"mode": "monolith", "reason": "authz test"}),
    "/strangler/payments/percent": (WRITE_OPS, {"step": "5", "reason": "authz test"}),
    "/strangler/payments/rollback": (WRITE_OPS, {}),
    "/kafka/{topic}/produce": (WRITE_OPS, {"key": "k", "value": "{}"}),
    "/kafka/{topic}/republish": (WRITE_OPS, {"partition": "0", "offset": "0", "confirm": "yes"}),
}
ROLES = ("admin", "ops", "editor", "viewer")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", sorted(GET_ROUTES))
def test_get_route_per_role(as_role, kafka_topic, path, role):
    client = as_role(role)
    response = client.get(path.format(topic=kafka_topic))
    assert response.status_code == GET_ROUTES[path][role], response.get_data(as_text=True)[:300]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", sorted(POST_ROUTES))
def test_post_route_per_role(as_role, kafka_topic, path, role):
    client = as_role(role)
    expected, data = POST_ROUTES[path]
    response = client.post(path.format(topic=kafka_topic), data)
    assert response.status_code == expected[role]


@pytest.mark.parametrize("path", sorted(GET_ROUTES))
def test_anonymous_get_redirects_to_login(console, kafka_topic, path):
    response = console.get(path.format(topic=kafka_topic))
    assert response.status_code == 302
    assert response.location.startswith("/login")


@pytest.mark.parametrize("path", sorted(POST_ROUTES))
def test_anonymous_post_redirects_to_login(console, kafka_topic, path):
    token = csrf_from(console.get("/login").get_data(as_text=True))
    response = console.client.post(path.format(topic=kafka_topic), data={"csrf_token": token})
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_login_page_is_public(console):
    assert console.get("/login").status_code == 200


def test_unknown_strangler_domain_is_404(as_role):
    assert as_role("ops").post("/strangler/nope/mode", {"mode": "service"}).status_code == 404
