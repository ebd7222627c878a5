"""Two gateway processes side by side, as the HPA runs them: one flag table, one set of counters,
one rollback.

Real processes: two ``python -m proxy`` on one database and one Redis, the real monolith and a
controllable movies stand-in.
"""

from __future__ import annotations

import time

import httpx
import psycopg
import redis

from strangler import flags, rollouts
from tests.proxy.conftest import health, libpq_url
from tests.support.processes import wait_until


def _both(proxies, check) -> bool:
    return all(check(health(p)) for p in proxies)


def _served(proxies, count: int) -> list[int]:
    """``count`` reads spread over the proxies in turn; their statuses."""
    with httpx.Client(timeout=10) as client:
        return [client.get(f"{proxies[i % len(proxies)].url}/api/movies?limit=1").status_code for i in range(count)]


def test_two_gateways_share_flags_counters_and_one_rollback(proxy_factory, db_url, movies_service, redis_url):
    gateways = [proxy_factory(), proxy_factory()]

    # a flag change reaches both
    flags.set_flag("movies", {"mode": "gradual", "percent": 37, "auto_rollback": False}, "test", url=db_url)
    wait_until(lambda: _both(gateways, lambda h: h["flags"]["movies"]["percent"] == 37), timeout=5,
               message="both gateways at 37%")

    # both count into the same counters: the rollout runner's readings add up to every request
    flags.set_flag("movies", {"mode": "service", "percent": 100}, "test", url=db_url)
    wait_until(lambda: _both(gateways, lambda h: h["flags"]["movies"]["mode"] == "service"), timeout=5,
               message="both gateways in service mode")
    client = redis.Redis.from_url(redis_url)
    started = time.time()
    assert _served(gateways, 60) == [200] * 60
    ended = time.time()

    def counted_all() -> bool:
        # the runner reads whole seconds: wait until the last one the requests touched is complete
        now = time.time()
        if now < ended + 2:
            return False
        return rollouts.read_readings(client, "movies", started - 1, now).service_ok == 60

    wait_until(counted_all, timeout=15, message="both gateways' requests in the shared counters")

    # the service dies: the gateways trip one rollback between them and both follow it
    with psycopg.connect(libpq_url(db_url)) as conn:
        marker = conn.execute("SELECT coalesce(max(id), 0) FROM flag_audit").fetchone()[0]
    flags.set_flag("movies", {"auto_rollback": True}, "test", url=db_url)
    wait_until(lambda: _both(gateways, lambda h: h["flags"]["movies"]["auto_rollback"]), timeout=5,
               message="auto-rollback on in both")
    movies_service.stop()
    statuses: list[int] = []

    def rolled_back() -> bool:
        statuses.extend(_served(gateways, 10))
        return _both(gateways, lambda h: h["flags"]["movies"]["mode"] == "monolith")

    wait_until(rolled_back, timeout=30, interval=0.1, message="both gateways back on the monolith")
    assert set(statuses) == {200}  # reads fell back to the monolith meanwhile
    assert flags.get_flag("movies", url=db_url)["mode"] == "monolith"
    with psycopg.connect(libpq_url(db_url)) as conn:
        rollbacks = conn.execute("SELECT count(*) FROM flag_audit WHERE id > %s AND action = 'flag.auto_rollback' "
                                 "AND domain = 'movies'", [marker]).fetchone()[0]
    assert rollbacks == 1  # racing gateways record one rollback
