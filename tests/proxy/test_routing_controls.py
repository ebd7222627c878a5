"""Routing controls for people: ``X-Route-To`` pins one request for admin/service/tester tokens
(counted in metrics), and a service's own health path always reaches that service (live)."""

from __future__ import annotations

import httpx

from kernel.tokens import issue_token
from proxy import policy
from strangler import flags
from tests.proxy.conftest import health, operator_headers
from tests.support.processes import wait_until


def _set(proxy, db_url, **changes) -> None:
    flags.set_flag("movies", changes, "test", url=db_url)
    wait_until(lambda: all(health(proxy)["flags"]["movies"][k] == v for k, v in changes.items()), timeout=5)


def _pinned(proxy, result: str) -> float:
    text = httpx.get(f"{proxy.url}/metrics", headers=operator_headers()).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("proxy_pinned_requests_total{") and f'result="{result}"' in line)


def test_only_privileged_tokens_pin_a_request_and_every_pin_is_counted(proxy_factory, db_url, jwt_keys):
    proxy = proxy_factory()
    _set(proxy, db_url, mode="monolith")
    admin = {"Authorization": f"Bearer {issue_token(1, jwt_keys[0], 300, role='admin')}"}
    user = {"Authorization": f"Bearer {issue_token(2, jwt_keys[0], 300, role='user')}"}
    with httpx.Client(base_url=proxy.url, timeout=5) as client:
        assert client.get("/api/movies?id=1", headers={**admin, "X-Route-To": "service"}).headers["x-upstream"] \
            == "movies"
        for headers in ({**user, "X-Route-To": "service"}, {"X-Route-To": "service"}):
            assert client.get("/api/movies?id=1", headers=headers).headers["x-upstream"] == "monolith"
        _set(proxy, db_url, mode="service")
        assert client.get("/api/movies?id=1", headers={**admin, "X-Route-To": "monolith"}).headers["x-upstream"] \
            == "monolith"
    assert _pinned(proxy, "honoured") == 2 and _pinned(proxy, "ignored") == 2


def test_a_pinned_request_gets_the_services_own_answer_and_rolls_nothing_back(
        proxy_factory, db_url, jwt_keys, movies_service):
    proxy = proxy_factory()
    _set(proxy, db_url, mode="service", rollback_consecutive=2)
    httpx.post(f"{movies_service.url}/__control/fail?status=500")
    admins = [{"Authorization": f"Bearer {issue_token(i, jwt_keys[0], 300, role='admin')}", "X-Route-To": "service"}
              for i in range(1, 6)]
    try:
        for headers in admins * 2:  # five distinct callers: enough witnesses, were it traffic
            response = httpx.get(f"{proxy.url}/api/movies?id=1", headers=headers)
            assert response.status_code == 500 and response.headers["x-upstream"] == "movies", "no fallback"
    finally:
        httpx.post(f"{movies_service.url}/__control/fail?status=0")
    assert flags.get_flag("movies", url=db_url)["mode"] == "service"
    assert health(proxy)["flags"]["movies"]["mode"] == "service"


def test_a_services_health_path_reaches_the_service_whatever_the_flag(proxy_factory, db_url):
    proxy = proxy_factory()
    _set(proxy, db_url, mode="monolith")
    for path, upstream in (("/api/movies/health", "movies"), ("/api/users/health", "users"),
                           ("/api/payments/health", "payments"), ("/api/events/health", "events")):
        response = httpx.get(f"{proxy.url}{path}")
        assert response.status_code == 200 and response.headers["x-upstream"] == upstream, path
    assert httpx.get(f"{proxy.url}/api/movies?id=1").headers["x-upstream"] == "monolith"


def test_pin_policy():
    assert policy.may_pin("admin", "service") and policy.may_pin("service", "monolith")
    assert policy.may_pin("tester", "service")
    assert not policy.may_pin("user", "service") and not policy.may_pin("editor", "service")
    assert not policy.may_pin(None, "service") and not policy.may_pin("admin", "elsewhere")
