"""The gateway as a real process in front of the real monolith and controllable stand-in services."""

from __future__ import annotations

import hashlib
import time

import httpx
import pytest

from kernel.tokens import issue_token
from strangler import flags
from tests.proxy.conftest import health, operator_headers
from tests.proxy.upstream import PATTERN
from tests.support.processes import wait_until

ONE_MOVIE = "/api/movies?id=1"  # cheap on the monolith, whatever other suites inserted


def set_and_wait(proxy, db_url, domain: str, **changes) -> None:
    """Change a flag and wait until ``proxy`` routes by it."""
    flags.set_flag(domain, changes, "test", url=db_url)
    wait_until(lambda: all(health(proxy)["flags"][domain][k] == v for k, v in changes.items()),
               timeout=5, interval=0.01, message=f"proxy sees {changes}")


def test_health_text_and_json_document(proxy_factory):
    proxy = proxy_factory()
    text = httpx.get(f"{proxy.url}/health")
    assert text.status_code == 200 and text.text == "Strangler Fig Proxy is healthy"
    public = httpx.get(f"{proxy.url}/health", headers={"Accept": "application/json"})
    assert public.json() == {"status": "ok"}, "details are for operators"
    doc = health(proxy)
    assert doc["flags_source"] == "live" and doc["db_listener"] == "connected"
    assert set(doc["flags"]) == {"movies", "users", "payments"}
    assert doc["upstreams"]["monolith"].startswith("http://127.0.0.1:")


def test_monolith_serves_by_default_with_request_id(proxy_factory):
    proxy = proxy_factory()
    response = httpx.get(f"{proxy.url}/api/movies", headers={"X-Request-Id": "trace-123"})
    assert response.status_code == 200
    assert response.headers["x-upstream"] == "monolith" and response.headers["x-request-id"] == "trace-123"
    assert any(m["title"] == "The Godfather" for m in response.json())
    generated = httpx.get(f"{proxy.url}/api/users").headers["x-request-id"]
    assert len(generated) == 32


def test_routing_table_sends_each_prefix_to_its_service(proxy_factory, db_url, jwt_keys):
    proxy = proxy_factory()
    for domain in ("movies", "users", "payments"):
        set_and_wait(proxy, db_url, domain, mode="service")
    signed_in = {"Authorization": f"Bearer {issue_token(1, jwt_keys[0], 300)}"}  # payments, auth reads need a user
    with httpx.Client(base_url=proxy.url, headers=signed_in) as client:
        for path, upstream in [("/api/movies", "movies"), ("/api/users", "users"), ("/api/auth/me", "users"),
                               ("/api/payments", "payments"), ("/api/subscriptions", "payments"),
                               ("/api/events/health", "events")]:
            response = client.get(path)
            assert response.headers["x-upstream"] == upstream, path
            assert response.json()["name"] == upstream and response.json()["path"] == path
        assert client.get("/api/unknown").headers["x-upstream"] == "monolith"


def test_gradual_split_is_sticky_and_near_the_percent(proxy_factory, db_url):
    proxy = proxy_factory()
    set_and_wait(proxy, db_url, "movies", mode="gradual", percent=30)
    with httpx.Client(base_url=proxy.url) as client:
        upstreams = [client.get(ONE_MOVIE, headers={"X-User-Id": str(uid)}).headers["x-upstream"]
                     for uid in range(1, 1001)]
        share = upstreams.count("movies") / len(upstreams)
        assert 0.25 <= share <= 0.35, share
        for uid in (1, 2, 3, 4, 5):
            seen = {client.get(ONE_MOVIE, headers={"X-User-Id": str(uid)}).headers["x-upstream"]
                    for _ in range(10)}
            assert seen == {upstreams[uid - 1]}
    # raising the percent never moves anyone back
    set_and_wait(proxy, db_url, "movies", percent=60)
    with httpx.Client(base_url=proxy.url) as client:
        for uid in range(1, 201):
            if upstreams[uid - 1] == "movies":
                assert client.get(ONE_MOVIE, headers={"X-User-Id": str(uid)}).headers["x-upstream"] == "movies"


def test_header_hygiene_both_directions(proxy_factory, db_url):
    proxy = proxy_factory()
    set_and_wait(proxy, db_url, "movies", mode="service")
    response = httpx.get(f"{proxy.url}/api/movies?id=1", headers={
        "Connection": "keep-alive, X-Client-Hop", "X-Client-Hop": "1", "Keep-Alive": "timeout=5",
        "Proxy-Authorization": "Basic eA==", "TE": "trailers", "X-User-Id": "999", "X-Custom": "kept"})
    seen = response.json()["headers"]
    for name in ("x-client-hop", "keep-alive", "proxy-authorization", "te", "x-user-id"):
        assert name not in seen, name
    assert seen["x-custom"] == "kept" and seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-for"] == "127.0.0.1" and seen["x-forwarded-host"].startswith("127.0.0.1:")
    assert seen["x-request-id"] == response.headers["x-request-id"]
    assert response.json()["query"] == "id=1"


def test_response_hop_by_hop_headers_are_removed(proxy_factory, upstream_factory):
    hops = upstream_factory("hops")
    proxy = proxy_factory(MONOLITH_URL=hops.url)
    response = httpx.get(f"{proxy.url}/__hop")
    assert response.status_code == 200
    for name in ("x-private-hop", "proxy-thing", "trailer"):
        assert name not in response.headers, name
    assert response.headers["x-end-to-end"] == "kept"
    assert response.headers["x-upstream"] == "monolith" and response.headers["x-request-id"] != "upstream-made-this"


def test_a_non_ascii_response_header_value_is_a_clear_502(proxy_factory, upstream_factory):
    # the forwarding client cannot read such a value as text: a JSON 502, not a crash
    odd = upstream_factory("odd")
    proxy = proxy_factory(MONOLITH_URL=odd.url)
    answer = httpx.get(f"{proxy.url}/__utf8")
    assert answer.status_code == 502 and answer.json() == {"error": "upstream sent a header value that is not ASCII"}
    assert httpx.get(f"{proxy.url}/anything").json()["name"] == "odd"


def test_20_mb_bodies_stream_through_both_ways(proxy_factory, db_url, jwt_keys):
    # uploads are buffered whole at the gateway up to MAX_BODY_BYTES (docs/security.md), so raise it here
    proxy = proxy_factory(MAX_BODY_BYTES=str(32 * 1024 * 1024))
    set_and_wait(proxy, db_url, "movies", mode="service")
    size = 20 * 1024 * 1024
    token = issue_token(1, jwt_keys[0], 300, role="editor")

    def chunks():
        sent = 0
        while sent < size:
            piece = PATTERN[: min(len(PATTERN), size - sent)]
            sent += len(piece)
            yield piece

    expected = hashlib.sha256()
    for piece in chunks():
        expected.update(piece)
    with httpx.Client(base_url=proxy.url, timeout=30) as client:
        upload = client.post("/api/movies/upload", content=chunks(),
                             headers={"Authorization": f"Bearer {token}", "Content-Length": str(size)})
        assert upload.status_code == 200, upload.text
        assert upload.json()["body_length"] == size and upload.json()["body_sha256"] == expected.hexdigest()
        digest, length = hashlib.sha256(), 0
        with client.stream("GET", f"/api/movies/download?big={size}") as download:
            assert download.status_code == 200 and download.headers["x-upstream"] == "movies"
            for piece in download.iter_raw():
                digest.update(piece)
                length += len(piece)
    assert length == size and digest.hexdigest() == expected.hexdigest()


def test_writes_need_a_valid_token_and_reads_do_not(proxy_factory, db_url, jwt_keys):
    proxy = proxy_factory()
    set_and_wait(proxy, db_url, "movies", mode="service")
    private_pem = jwt_keys[0]
    with httpx.Client(base_url=proxy.url) as client:
        assert client.get(ONE_MOVIE).status_code == 200
        missing = client.post("/api/movies", json={"title": "x"})
        assert missing.status_code == 401 and missing.json() == {"error": "authentication required"}
        bad = client.post("/api/movies", json={}, headers={"Authorization": "Bearer not.a.token"})
        assert bad.status_code == 401 and "invalid token" in bad.json()["error"]
        expired = issue_token(5, private_pem, -10)
        gone = client.post("/api/movies", json={}, headers={"Authorization": f"Bearer {expired}"})
        assert gone.status_code == 401 and gone.json()["error"] == "token expired"
        from kernel.tokens import generate_keys

        forged = issue_token(5, generate_keys()[0], 300)
        assert client.post("/api/movies", json={}, headers={"Authorization": f"Bearer {forged}"}).status_code == 401
        good = issue_token(42, private_pem, 300, role="editor")  # catalogue writes: editors and admins
        ok = client.post("/api/movies", json={}, headers={"Authorization": f"Bearer {good}", "X-User-Id": "7"})
        assert ok.status_code == 200 and ok.json()["headers"]["x-user-id"] == "42"
        assert client.get("/api/movies", headers={"Authorization": f"Bearer {good}"}).json()["headers"][
            "x-user-id"] == "42"
        assert client.get("/api/movies", headers={"Authorization": "Bearer junk"}).status_code == 401
        for open_door in ("/api/auth/login", "/api/users"):  # the gateway lets them through; the users side decides
            assert client.post(open_door, json={}).headers["x-upstream"] == "monolith", open_door


def test_auth_mode_off_lets_legacy_writes_through(proxy_factory, db_url):
    proxy = proxy_factory(PROXY_AUTH_MODE="off")
    response = httpx.post(f"{proxy.url}/api/movies", json={"title": "Legacy", "description": "d", "rating": 5})
    assert response.status_code == 201 and response.headers["x-upstream"] == "monolith"


def test_timeouts_and_unreachable_upstreams_give_json_errors(proxy_factory, db_url, upstream_factory):
    slow = upstream_factory("slow")
    proxy = proxy_factory(MONOLITH_URL=slow.url, PROXY_READ_TIMEOUT_MS="300")
    late = httpx.get(f"{proxy.url}/__slow?seconds=2")
    assert late.status_code == 504 and late.json() == {"error": "upstream timed out"}
    dead = proxy_factory(MONOLITH_URL="http://127.0.0.1:9")
    refused = httpx.get(f"{dead.url}/anything")
    assert refused.status_code == 502 and "upstream unavailable" in refused.json()["error"]


def test_service_5xx_on_get_falls_back_to_the_monolith(proxy_factory, db_url, movies_service):
    proxy = proxy_factory()
    set_and_wait(proxy, db_url, "movies", mode="service", auto_rollback=False)
    httpx.get(f"{movies_service.url}/__control/fail?status=503")
    with httpx.Client(base_url=proxy.url) as client:
        response = client.get(ONE_MOVIE)
        assert response.status_code == 200 and response.headers["x-upstream"] == "monolith"
        posted = client.post("/api/movies", json={}, headers={"Authorization": "Bearer x"})
        assert posted.status_code == 401
    set_and_wait(proxy, db_url, "movies", fallback=False)
    assert httpx.get(f"{proxy.url}{ONE_MOVIE}").status_code == 503


def test_metrics_and_redis_traffic_counters(proxy_factory, redis_url):
    import redis

    proxy = proxy_factory()
    with httpx.Client(base_url=proxy.url) as client:
        for _ in range(5):
            client.get(ONE_MOVIE)
        text = client.get("/metrics", headers=operator_headers()).text
    assert 'proxy_requests_total{backend="monolith",domain="movies",status="2xx"}' in text
    assert "proxy_request_duration_seconds_bucket" in text
    r = redis.Redis.from_url(redis_url)
    now = int(time.time())

    def counted() -> int:
        return sum(int(r.hget(f"traffic:{s}", "movies:monolith:ok") or 0) for s in range(now - 5, now + 3))

    wait_until(lambda: counted() >= 5, timeout=5, message="traffic counters in Redis")
    assert 0 < r.ttl(f"traffic:{now}") <= 600 or r.ttl(f"traffic:{now - 1}") > 0


@pytest.mark.parametrize("workers", ["2"])
def test_metrics_aggregate_over_workers(proxy_factory, workers):
    proxy = proxy_factory(WEB_WORKERS=workers)
    with httpx.Client(base_url=proxy.url) as client:
        for _ in range(20):
            httpx.get(f"{proxy.url}/api/users")  # new connection each: spreads over workers
        text = client.get("/metrics", headers=operator_headers()).text
    line = next(x for x in text.splitlines()
                if x.startswith('proxy_requests_total{backend="monolith",domain="users",status="2xx"}'))
    assert float(line.split()[-1]) == 20


@pytest.mark.parametrize("interface", ["rsgi", "asgi"])
def test_both_server_interfaces_forward_paths_queries_and_bodies_verbatim(proxy_factory, db_url, jwt_keys,
                                                                         interface):
    proxy = proxy_factory(PROXY_INTERFACE=interface)
    set_and_wait(proxy, db_url, "movies", mode="service")
    token = issue_token(3, jwt_keys[0], 300, role="editor")
    with httpx.Client(base_url=proxy.url) as client:
        echoed = client.get("/api/movies/c%20d/%E2%9C%93?q=x%26y&z=%E2%9C%93").json()
        # encoded slashes and other odd paths: tests/security/test_targets_live.py
        assert echoed["path"] == "/api/movies/c%20d/%E2%9C%93" and echoed["query"] == "q=x%26y&z=%E2%9C%93"
        posted = client.post("/api/movies", content=b"x" * 1000, headers={"Authorization": f"Bearer {token}"})
        assert posted.json()["body_length"] == 1000 and posted.json()["method"] == "POST"
        assert client.head(ONE_MOVIE).status_code == 200
        assert client.get("/health").text == "Strangler Fig Proxy is healthy"


def test_shadow_mode_compares_mirrored_gets(proxy_factory, db_url):
    proxy = proxy_factory()
    set_and_wait(proxy, db_url, "movies", mode="service", shadow_percent=100)
    with httpx.Client(base_url=proxy.url) as client:
        for _ in range(3):
            assert client.get(ONE_MOVIE).headers["x-upstream"] == "movies"

        def mismatches() -> float:  # summed over the difference kinds
            text = client.get("/metrics", headers=operator_headers()).text
            return sum(float(line.split()[-1]) for line in text.splitlines()
                       if line.startswith('proxy_shadow_comparisons_total{domain="movies",')
                       and 'result="mismatch"' in line)

        wait_until(lambda: mismatches() >= 3, timeout=5, message="shadow comparisons counted")
