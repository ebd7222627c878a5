"""Flag propagation to several proxies, service death under load, database outage."""

from __future__ import annotations

import statistics
import threading
import time

import httpx
import psycopg
import pytest
from alembic import command

from cinemaabyss.commands.db import alembic_config
from strangler import flags
from tests.proxy.conftest import health, libpq_url, operator_headers
from tests.proxy.private_pg import PrivatePostgres
from tests.support.processes import free_port, wait_until

ONE_MOVIE = "/api/movies?id=1"  # cheap on the monolith, whatever other suites inserted


def test_flag_change_reaches_two_proxies_within_100ms_p99(proxy_factory, db_url):
    proxies = [proxy_factory(), proxy_factory()]
    clients = [httpx.Client(base_url=p.url, headers={"Accept": "application/json", **operator_headers()})
               for p in proxies]
    delays = []
    try:
        for change in range(1, 51):
            flags.set_flag("movies", {"mode": "gradual", "percent": change}, "test:propagation", url=db_url)
            committed = time.perf_counter()
            pending = set(range(len(clients)))
            while pending:
                for i in list(pending):
                    if clients[i].get("/health").json()["flags"]["movies"]["percent"] == change:
                        pending.discard(i)
                assert time.perf_counter() - committed < 5, "flag change not propagated"
            delays.append(time.perf_counter() - committed)
    finally:
        for client in clients:
            client.close()
    delays.sort()
    p99 = delays[int(len(delays) * 0.99) - 1]
    print(f"flag propagation to 2 proxies: p50 {statistics.median(delays) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    assert p99 <= 0.100


def _get_load(url: str, stop: threading.Event, results: dict, worker: int) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                response = client.get(ONE_MOVIE, headers={"X-User-Id": f"{worker}-{n}"})
                key = "ok" if response.status_code == 200 else f"status {response.status_code}"
                results.setdefault(response.headers.get("x-upstream", "?"), 0)
                results[response.headers.get("x-upstream", "?")] += 1
            except httpx.HTTPError as exc:
                key = f"error {type(exc).__name__}"
            results[key] = results.get(key, 0) + 1


def _auto_rollback_row(db_url: str, since_id: int):
    with psycopg.connect(libpq_url(db_url)) as conn:
        return conn.execute("SELECT actor, reason, before, after FROM flag_audit WHERE id > %s AND domain = "
                            "'movies' AND action = 'flag.auto_rollback'", [since_id]).fetchone()


def test_service_killed_under_get_load_zero_failures_and_auto_rollback(proxy_factory, db_url, movies_service):
    proxy = proxy_factory()
    flags.set_flag("movies", {"mode": "gradual", "percent": 50, "rollback_min_requests": 10,
                              "rollback_error_rate": 0.5}, "test", url=db_url)
    wait_until(lambda: health(proxy)["flags"]["movies"]["percent"] == 50, timeout=5, interval=0.01)
    with psycopg.connect(libpq_url(db_url)) as conn:
        last_id = conn.execute("SELECT coalesce(max(id), 0) FROM flag_audit").fetchone()[0]
    stop, results = threading.Event(), {}
    threads = [threading.Thread(target=_get_load, args=(proxy.url, stop, results, w)) for w in range(6)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: results.get("movies", 0) >= 50, timeout=15, message="service traffic")
        movies_service.stop(sig=9)
        row = wait_until(lambda: _auto_rollback_row(db_url, last_id), timeout=10, message="auto-rollback row")
        served_after = results.get("ok", 0)
        wait_until(lambda: results.get("ok", 0) >= served_after + 50, timeout=10,
                   message=f"traffic after rollback ({results})")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    failures = {k: v for k, v in results.items() if k.startswith(("status", "error"))}
    assert failures == {}, results
    actor, reason, before, after = row
    # a dead service trips the consecutive-failure rule long before the windowed error rate
    assert actor.startswith("proxy:") and reason.startswith("auto-rollback: ")
    assert "consecutive service failures" in reason, reason
    assert before["mode"] == "gradual" and after["mode"] == "monolith"
    assert flags.get_flag("movies", url=db_url)["mode"] == "monolith"
    assert health(proxy)["flags"]["movies"]["mode"] == "monolith"


@pytest.fixture
def private_pg():
    """A PostgreSQL of our own, migrated, that the test may stop."""
    pg = PrivatePostgres(free_port())
    pg.start()
    config = alembic_config(pg.url)
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")
    yield pg
    pg.destroy()


def test_database_outage_keeps_routing_on_last_table_and_recovers(proxy_factory, private_pg):
    flags.set_flag("movies", {"mode": "service"}, "test", url=private_pg.url)
    proxy = proxy_factory(DATABASE_URL=private_pg.url)
    wait_until(lambda: health(proxy)["flags"]["movies"]["mode"] == "service", timeout=10)
    assert httpx.get(f"{proxy.url}{ONE_MOVIE}").headers["x-upstream"] == "movies"

    private_pg.stop()
    wait_until(lambda: health(proxy)["flags_source"] == "stale", timeout=10, message="stale flags reported")
    doc = health(proxy)
    assert doc["db_listener"] == "disconnected" and doc["flags"]["movies"]["mode"] == "service"
    with httpx.Client(base_url=proxy.url) as client:
        assert all(client.get(ONE_MOVIE).headers["x-upstream"] == "movies" for _ in range(20))

    private_pg.start()
    wait_until(lambda: health(proxy)["flags_source"] == "live", timeout=15, message="listener reconnected")
    flags.set_flag("movies", {"mode": "monolith"}, "test", url=private_pg.url)
    wait_until(lambda: httpx.get(f"{proxy.url}{ONE_MOVIE}").headers["x-upstream"] == "monolith", timeout=5)
