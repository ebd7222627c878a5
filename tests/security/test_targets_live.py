"""Raw-socket corpus: request targets that must never reach an upstream unauthorised.

Every backend is a recording upstream, so "reached" is observed, not inferred. Runs on both
server interfaces (RSGI exposes only the decoded path; ASGI the raw one).
"""

from __future__ import annotations

import json

import pytest

from tests.security.conftest import raw_request

#: targets that name a protected write once canonicalised, or cannot be canonicalised
ATTACKS = [
    "//api/movies", "///api/movies", "/%2Fapi/movies", "/%2fapi/payments", "//api/payments",
    "//api/subscriptions", "//api/movies/1/ratings", "/api//movies", "/api/movies//1",
    "/api/movies/../movies", "/api/x/..%2Fmovies", "/api/%2e%2e/api/movies", "/./api/movies",
    "/api/./movies", "/API/movies", "/api/%6Dovies", "/api%2Fmovies", "/api\\movies", "/api%5Cmovies",
    "/api/movies%00", "/api/movies%2500", "/api/movies;x=1", "/api/movies%3Bx", "/api/%zz/movies",
    "/api/movies/%C0%AF", "/api/movies%0d%0aX-User-Role:%20admin", "http://127.0.0.1/api/movies",
    "http://x//api/movies", "https://x/api/%2e%2e/movies", "*", "/api/events/payment",
    "/api/events%2Fpayment", "/api/payments/1/status", "/api/payments/1/%73tatus",
    "/api/payments/1/status/", "/api/payments//1/status", "/api/payments/1/./status",
]


@pytest.fixture(params=["rsgi", "asgi"])
def interface_gateway(request, gateway_factory):
    return gateway_factory(PROXY_INTERFACE=request.param)


def test_attack_targets_never_reach_an_upstream(interface_gateway, backends, token_for):
    port = interface_gateway.port
    user = token_for("user")
    answers = {}
    for target in ATTACKS:
        for auth in ("", f"\r\nAuthorization: Bearer {user}"):
            status, body = raw_request(port, f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 2"
                                             f"\r\nX-User-Role: admin{auth}", b"{}")
            answers[(target, bool(auth))] = status
            assert status in (400, 401, 403), (target, auth, status, body)
            if status != 400 or body.startswith(b"{"):
                assert "error" in json.loads(body), (target, body)
    assert backends.recorded() == [], backends.recorded()
    assert answers[("//api/movies", False)] == 400 and answers[("/api/%6Dovies", False)] == 401
    assert answers[("/api/payments/1/%73tatus", True)] == 403


def test_refused_targets_do_not_reach_an_upstream_on_reads_either(interface_gateway, backends):
    for target in ("//api/users", "/api/users/..", "/api/%2e%2e/users", "/api\\users", "/api/users%00"):
        status, body = raw_request(interface_gateway.port, f"GET {target} HTTP/1.1\r\nHost: x")
        assert status == 400 and "error" in json.loads(body), (target, status, body)
    assert backends.recorded() == []


def test_upstream_gets_exactly_the_canonical_path(interface_gateway, backends):
    for target, path in [("/api/%6Dovies", "/api/movies"), ("http://evil.example/api/movies?id=1", "/api/movies"),
                         ("/api/movies/caf%c3%a9", "/api/movies/caf%C3%A9"), ("/api/movies/a%7Eb", "/api/movies/a~b")]:
        status, body = raw_request(interface_gateway.port, f"GET {target} HTTP/1.1\r\nHost: x")
        assert status == 200 and json.loads(body)["path"] == path, (target, body)
    assert [entry["path"] for entry in backends.recorded()] == [
        "/api/movies", "/api/movies", "/api/movies/caf%C3%A9", "/api/movies/a~b"]


def test_asterisk_form(gateway, backends):
    status, body = raw_request(gateway.port, "GET * HTTP/1.1\r\nHost: x")
    assert status == 400 and "OPTIONS" in json.loads(body)["error"]
    status, _ = raw_request(gateway.port, "OPTIONS * HTTP/1.1\r\nHost: x")
    assert status == 204
    assert backends.recorded() == []
