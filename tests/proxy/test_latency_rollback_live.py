"""A service made slower is rolled back on latency alone, with no failed read (live gateway,
real monolith, a stand-in service that answers late)."""

from __future__ import annotations

import itertools
import threading

import httpx
import psycopg
import pytest

from kernel.tokens import issue_token
from proxy.bucketing import in_service
from strangler import flags
from tests.proxy.conftest import health, libpq_url
from tests.support.processes import wait_until


def _users(on_service: bool, count: int) -> list[int]:
    return list(itertools.islice((u for u in itertools.count(2000) if in_service("movies", str(u), 50) == on_service),
                                 count))


def _rollback_reason(db_url: str, since_id: int) -> str | None:
    with psycopg.connect(libpq_url(db_url)) as conn:
        row = conn.execute("SELECT reason FROM flag_audit WHERE id > %s AND domain = 'movies' "
                           "AND action = 'flag.auto_rollback'", [since_id]).fetchone()
    return row[0] if row else None


@pytest.mark.parametrize("bound", ["gateway", "flag"])
def test_a_slower_service_seen_by_several_users_rolls_back_on_latency(proxy_factory, db_url, jwt_keys, bound):
    # the bound comes from the gateway's setting, or from the domain's own flag with none at the gateway
    proxy = proxy_factory(PROXY_ROLLBACK_P99_PERCENT="300" if bound == "gateway" else "0")
    changes = {"mode": "gradual", "percent": 50, "sticky_key": "user", "rollback_min_requests": 10}
    if bound == "flag":
        changes["rollback_p99_percent"] = 300
    flags.set_flag("movies", changes, "test", url=db_url)
    wait_until(lambda: health(proxy)["flags"]["movies"]["percent"] == 50, timeout=5)
    with psycopg.connect(libpq_url(db_url)) as conn:
        last_id = conn.execute("SELECT coalesce(max(id), 0) FROM flag_audit").fetchone()[0]
    stop, failed, served = threading.Event(), [], []

    def load(user: int, path: str) -> None:
        auth = {"Authorization": f"Bearer {issue_token(user, jwt_keys[0], 300)}"}
        with httpx.Client(base_url=proxy.url, timeout=10, headers=auth) as client:
            while not stop.is_set():
                response = client.get(path)
                (served if response.status_code == 200 else failed).append(response.headers.get("x-upstream"))

    # the service answers half a second late (the stand-in's ?slow=); the monolith as fast as it is
    threads = [threading.Thread(target=load, args=(u, "/api/movies?id=1&slow=0.5")) for u in _users(True, 4)]
    threads += [threading.Thread(target=load, args=(u, "/api/movies?id=1")) for u in _users(False, 2)]
    for thread in threads:
        thread.start()
    try:
        reason = wait_until(lambda: _rollback_reason(db_url, last_id), timeout=30, message="latency rollback")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert reason.startswith("auto-rollback: service p99") and "over 3 x" in reason, reason
    assert failed == [], failed
    assert "movies" in served and flags.get_flag("movies", url=db_url)["mode"] == "monolith"
