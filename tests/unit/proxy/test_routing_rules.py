"""Pure routing rules: the §4 table, the auth policy and header hygiene."""

from __future__ import annotations

import pytest

from kernel.settings import load_settings
from proxy import policy
from proxy.flagcache import build_table, libpq_url
from proxy.forward import client_headers, upstream_headers
from proxy.routing import route_of
from proxy.types import Inbound


@pytest.mark.parametrize(("path", "route"), [
    ("/api/movies", "movies"), ("/api/movies/health", "movies"), ("/api/movies?id=1", "movies"),
    ("/api/users", "users"), ("/api/auth/login", "users"), ("/api/payments", "payments"),
    ("/api/subscriptions", "payments"), ("/api/events/movie", "events"), ("/api/other", "monolith"),
    ("/", "monolith"), ("/movies", "monolith"),
])
def test_route_table(path, route):
    assert route_of(path) == route


@pytest.mark.parametrize(("mode", "method", "path", "needed"), [
    ("writes", "GET", "/api/movies", False), ("writes", "HEAD", "/api/movies", False),
    ("writes", "OPTIONS", "/api/movies", False), ("writes", "POST", "/api/movies", True),
    ("writes", "PUT", "/api/movies", True), ("writes", "DELETE", "/api/payments", True),
    ("writes", "POST", "/api/users", False), ("writes", "POST", "/api/auth/login", False),
    ("writes", "PATCH", "/api/users", True), ("all", "GET", "/api/movies", True),
    ("all", "GET", "/api/movies/health", False), ("all", "POST", "/api/auth/login", False),
    ("off", "POST", "/api/movies", False), ("writes", "POST", "/not-api", True),
])
def test_auth_policy(mode, method, path, needed):
    refused = policy.verdict(policy.rule_for(method, path), policy.ANONYMOUS, mode) == policy.UNAUTHENTICATED
    assert refused is needed


def test_upstream_headers_drop_hop_by_hop_and_add_forwarding():
    request = Inbound("GET", "/api/movies", "", [
        ("host", "cinema.example"), ("connection", "keep-alive, x-secret-hop"), ("x-secret-hop", "1"),
        ("keep-alive", "timeout=5"), ("proxy-authorization", "Basic x"), ("te", "trailers"),
        ("upgrade", "h2c"), ("x-user-id", "99"), ("x-forwarded-for", "10.0.0.1"), ("accept", "*/*"),
    ], "127.0.0.5", "http", None)
    headers = dict(upstream_headers(request, "rid-1", "7"))
    # a client-sent X-Forwarded-For is not passed on: the upstream gets the address the gateway resolved
    assert headers == {"accept": "*/*", "X-Forwarded-For": "127.0.0.5", "X-Forwarded-Proto": "http",
                       "X-Forwarded-Host": "cinema.example", "X-Request-Id": "rid-1", "X-User-Id": "7"}


def test_upstream_headers_carry_only_the_verified_identity_and_every_connection_listed_hop_is_dropped():
    request = Inbound("POST", "/api/payments", "", [
        ("x-user-role", "admin"), ("X-User-Role".lower(), "service"), ("x-user-id", "1"),
        ("connection", "x-a"), ("connection", "x-b"), ("x-a", "1"), ("x-b", "2"), ("x-c", "3"),
    ], "127.0.0.5", "https", None)
    verified = upstream_headers(request, "rid-2", "7", "user")
    assert [(n, v) for n, v in verified if n.lower() in ("x-user-role", "x-user-id")] == [
        ("X-User-Id", "7"), ("X-User-Role", "user")]
    assert "x-a" not in dict(verified) and "x-b" not in dict(verified) and dict(verified)["x-c"] == "3"
    anonymous = upstream_headers(request, "rid-3", None, None)
    assert not [n for n, _ in anonymous if n.lower() in ("x-user-role", "x-user-id")]


def test_client_headers_drop_hop_by_hop():
    raw = (("connection", "close, X-Hop"), ("x-hop", "1"), ("transfer-encoding", "chunked"),
           ("proxy-foo", "1"), ("content-type", "application/json"))
    assert client_headers(raw) == [("content-type", "application/json")]


def test_flag_table_seeds_movies_from_legacy_env_and_rows_override():
    settings = load_settings({"GRADUAL_MIGRATION": "true", "MOVIES_MIGRATION_PERCENT": "25"})
    seeded = build_table(settings, [], version=0, source="defaults")
    assert seeded.flags["movies"].mode == "gradual" and seeded.flags["movies"].percent == 25
    row = ("movies", "service", 60, "header", False, True, 0.3, 5, 10, 5, 250, 1.0)  # the fields, then the stamp
    table = build_table(settings, [row], version=1, source="database")
    assert table.flags["movies"].mode == "service" and table.flags["movies"].sticky_key == "header"
    assert table.flags["movies"].rollback_p99_percent == 250 and table.flags["movies"].updated_at == 1.0
    assert table.flags["users"].mode == "monolith"


def test_libpq_url_strips_the_sqlalchemy_driver():
    assert libpq_url("postgresql+psycopg://u:p@h:1/db") == "postgresql://u:p@h:1/db"
