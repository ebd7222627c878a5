"""Small leaks closed at the gateway (live gateway in front of recording upstreams): health details
and metrics for operators only, the gateway's own JSON 414/431, no server banners, client
addresses from trusted proxies only, and provider callbacks that no client can crowd out."""

from __future__ import annotations

import socket
import uuid

import httpx
import pytest

from tests.support.processes import wait_until


def test_health_tells_the_public_only_that_the_gateway_is_up(gateway, token_for):
    public = httpx.get(f"{gateway.url}/health", headers={"Accept": "application/json"})
    assert public.status_code == 200 and public.json() == {"status": "ok"}
    user = httpx.get(f"{gateway.url}/health", headers={"Accept": "application/json",
                                                       "Authorization": f"Bearer {token_for('user')}"})
    assert user.json() == {"status": "ok"}
    forged = httpx.get(f"{gateway.url}/health", headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 200 and "127.0.0.1" not in forged.text
    for role in ("admin", "service"):
        doc = httpx.get(f"{gateway.url}/health", headers={"Authorization": f"Bearer {token_for(role)}"}).json()
        assert doc["upstreams"]["monolith"].startswith("http://127.0.0.1:") and "flags" in doc and "pid" in doc


def test_metrics_need_an_operator_token(gateway, token_for):
    anonymous = httpx.get(f"{gateway.url}/metrics")
    assert anonymous.status_code == 401 and "token" in anonymous.json()["error"]
    assert "proxy_requests_total" not in anonymous.text
    assert httpx.get(f"{gateway.url}/metrics", headers={"Authorization": f"Bearer {token_for('user')}"}) \
        .status_code == 403
    assert httpx.get(f"{gateway.url}/metrics", headers={"Authorization": "Bearer forged"}).status_code == 401
    served = httpx.get(f"{gateway.url}/metrics", headers={"Authorization": f"Bearer {token_for('service')}"})
    assert served.status_code == 200 and "proxy_auth_failures_total" in served.text


def test_oversize_targets_and_headers_get_the_gateways_own_json_and_are_never_forwarded(gateway, backends):
    backends.forget()
    long_url = httpx.get(f"{gateway.url}/api/movies?q={'a' * 5000}")
    assert long_url.status_code == 414 and "request target" in long_url.json()["error"]
    big_header = httpx.get(f"{gateway.url}/api/movies", headers={"X-Junk": "b" * 9000})
    assert big_header.status_code == 431 and "x-junk" in big_header.json()["error"]
    many = httpx.get(f"{gateway.url}/api/movies", headers={f"X-H{i}": "1" for i in range(95)})
    assert many.status_code == 431 and "headers" in many.json()["error"]
    for response in (long_url, big_header, many):
        assert response.headers["content-type"] == "application/json"
    assert backends.recorded() == []
    assert httpx.get(f"{gateway.url}/api/movies?q={'a' * 3000}").status_code == 200, "within limits: served"


@pytest.mark.parametrize("interface", ["rsgi", "asgi"])
def test_no_server_banner_from_the_gateway_or_behind_it(gateway_factory, interface):
    gateway = gateway_factory(PROXY_INTERFACE=interface)
    for path in ("/api/movies", "/health", "/metrics", "/api/payments"):
        response = httpx.get(f"{gateway.url}{path}")  # upstream's (aiohttp's banner), own, 401s
        assert response.headers.get("server", "") == "", (path, response.headers.get("server"))
        assert "x-powered-by" not in response.headers


def _webhook(gateway, headers: dict[str, str]) -> int:
    return httpx.post(f"{gateway.url}/api/payments/webhook", content=b"{}", timeout=5,
                      headers={"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex,
                               **headers}).status_code


def test_x_forwarded_for_counts_only_from_trusted_proxies(gateway_factory, no_stored_keys):
    """A caller's Idempotency-Key quota follows its address: spoofed hops must not split it."""
    untrusted = gateway_factory(PROXY_IDEMPOTENCY_MAX_KEYS="1")
    assert _webhook(untrusted, {"X-Forwarded-For": "198.51.100.1"}) == 200
    assert _webhook(untrusted, {"X-Forwarded-For": "198.51.100.2"}) == 429, "no proxy is trusted by default"
    trusting = gateway_factory(PROXY_IDEMPOTENCY_MAX_KEYS="1", PROXY_TRUSTED_PROXIES="127.0.0.0/8")
    assert _webhook(trusting, {"X-Forwarded-For": "198.51.100.3"}) == 200
    assert _webhook(trusting, {"X-Forwarded-For": "198.51.100.4"}) == 200, "behind a trusted proxy: two clients"
    # a client cannot smuggle a hop in front of the trusted one: the rightmost untrusted entry counts
    assert _webhook(trusting, {"X-Forwarded-For": "203.0.113.7, 198.51.100.4"}) == 429


def test_provider_callbacks_get_through_while_one_address_holds_every_slot(gateway_factory, token_for):
    gateway = gateway_factory(PROXY_MAX_CLIENT_CONCURRENCY="2", PROXY_CALLBACK_CONCURRENCY="4")
    slow = []
    try:
        for _ in range(2):  # slow uploads: each holds a slot of 127.0.0.1 while its body trickles
            sock = socket.create_connection(("127.0.0.1", gateway.port))
            sock.sendall(b"POST /api/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100\r\n\r\n{")
            slow.append(sock)
        wait_until(lambda: httpx.get(f"{gateway.url}/api/movies").status_code == 429, timeout=5,
                   message="the address's slots taken")
        assert _webhook(gateway, {}) == 200, "the provider's callback is exempt from the per-address cap"
    finally:
        for sock in slow:
            sock.close()
