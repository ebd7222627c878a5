"""Nobody can roll a migration back by sending requests the service cannot answer (live).

A 1 % canary of movies on a service that answers 500 to everything; 1,000 anonymous hostile
requests (ids no parser should take, a fresh ``X-User-Id`` per request picked to land on the
canary) reach the service and fail there — and the domain stays on its canary. Then three
real users' ordinary reads fail on it too, the monolith serves them: that is the service's
fault, seen by three callers, and it rolls back.
"""

from __future__ import annotations

import collections
import itertools
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg

from kernel.tokens import issue_token
from proxy.bucketing import in_service
from strangler import flags
from tests.proxy.conftest import (  # noqa: F401 - fixtures
    clean_flags,
    health,
    libpq_url,
    monolith,
    movies_service,
    proxy_factory,
    upstream_factory,
)
from tests.support.processes import wait_until

HOSTILE_QUERIES = (
    "id=%C2%B2", "limit=%C2%B2", "offset=%C2%B2", "id=%EF%BC%91", "id=-1", "id=1e3", "id=0x10",
    "id=99999999999999999999999999", "limit=-5", "offset=99999999999999999999", "id=", "id=1&id=2",
    "id=%D9%A3", "limit=1.5", "id=%20", "id=%E2%85%A0",
)


def _canary_keys(count: int) -> list[str]:
    """``X-User-Id`` hints that the 1 % canary sends to the service."""
    return list(itertools.islice((k for k in (f"probe-{i}" for i in itertools.count())
                                  if in_service("movies", k, 1)), count))


def _canary_users(count: int) -> list[int]:
    """User ids the 1 % canary sends to the service."""
    return list(itertools.islice((u for u in itertools.count(1000) if in_service("movies", str(u), 1)), count))


def _fallbacks(proxy, token: str) -> float:
    text = httpx.get(f"{proxy.url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("proxy_fallbacks_total{") and 'domain="movies"' in line)


def _auto_rollbacks(db_url: str, since_id: int) -> int:
    with psycopg.connect(libpq_url(db_url)) as conn:
        return conn.execute("SELECT count(*) FROM flag_audit WHERE id > %s AND domain = 'movies' "
                            "AND action = 'flag.auto_rollback'", [since_id]).fetchone()[0]


def test_a_thousand_hostile_anonymous_requests_at_a_canary_roll_nothing_back(
        proxy_factory, db_url, movies_service, jwt_keys):  # noqa: F811
    proxy = proxy_factory()
    flags.set_flag("movies", {"mode": "gradual", "percent": 1, "sticky_key": "user"}, "test", url=db_url)
    wait_until(lambda: health(proxy)["flags"]["movies"]["percent"] == 1, timeout=5)
    httpx.post(f"{movies_service.url}/__control/fail?status=500")
    admin = issue_token(1, jwt_keys[0], 600, role="admin")
    with psycopg.connect(libpq_url(db_url)) as conn:
        last_id = conn.execute("SELECT coalesce(max(id), 0) FROM flag_audit").fetchone()[0]
    keys = _canary_keys(200)

    def hostile(i: int) -> int:
        query = HOSTILE_QUERIES[i % len(HOSTILE_QUERIES)]
        return client.get(f"/api/movies?{query}", headers={"X-User-Id": keys[i % len(keys)]}).status_code

    with httpx.Client(base_url=proxy.url, timeout=10) as client, ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(hostile, range(1000)))
    print("hostile statuses:", collections.Counter(statuses))
    assert len(statuses) == 1000
    assert _fallbacks(proxy, admin) >= 900, "the hostile requests must have reached the failing service"
    assert _auto_rollbacks(db_url, last_id) == 0
    assert health(proxy)["flags"]["movies"]["mode"] == "gradual"
    assert flags.get_flag("movies", url=db_url)["mode"] == "gradual"

    # the same service failing real users' ordinary reads is its own fault: three callers roll it back
    users = _canary_users(3)
    with httpx.Client(base_url=proxy.url, timeout=10) as client:
        for user in itertools.islice(itertools.cycle(users), 6):
            token = issue_token(user, jwt_keys[0], 600, role="user")
            response = client.get("/api/movies?id=1", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200 and response.headers["x-upstream"] == "monolith"
    wait_until(lambda: _auto_rollbacks(db_url, last_id) == 1, timeout=10, message="auto-rollback row")
    assert flags.get_flag("movies", url=db_url)["mode"] == "monolith"
