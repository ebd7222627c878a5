"""Traffic history: the gateways' per-second counters rolled up into 10-second rows in PostgreSQL,
read back binned for charts with flag changes as markers; observed share only since a change."""

from __future__ import annotations

import time

import pytest
import redis
from sqlalchemy import text

from kernel.db import get_engine
from strangler import flags, traffic_history
from strangler.rollout_gates import latency_field

AHEAD = 7200  # two hours ahead: seconds no gateway and no other test writes to


@pytest.fixture
def client(redis_url, db_url):
    """Redis; the seconds a test wrote and the rows rolled from them are removed afterwards."""
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter("traffic:*"):
        if int(key.split(b":")[1]) > time.time() + 3600:
            client.delete(key)
    yield client
    for key in client.scan_iter("traffic:*"):
        if int(key.split(b":")[1]) > time.time() + 3600:
            client.delete(key)
    with get_engine(db_url).begin() as conn:
        conn.execute(text("DELETE FROM traffic_rollup WHERE bucket > now() + interval '1 hour'"))


def _count(client, second: int, fields: dict[str, int]) -> None:
    client.hset(f"traffic:{second}", mapping=fields)
    client.expire(f"traffic:{second}", 120)


def _base(now: float) -> int:
    second = int(now) - 40
    return second - second % 10


def test_complete_buckets_become_rows_and_rewriting_them_is_idempotent(client, db_url):
    now = time.time() + AHEAD
    base = _base(now)
    for offset in range(10):
        _count(client, base + offset, {"movies:service:ok": 3, "movies:service:err": 1, "movies:monolith:ok": 6,
                                       latency_field("movies", "service", 0.004): 3,
                                       latency_field("movies", "monolith", 0.040): 6})
    _count(client, base + 10, {"movies:service:ok": 5})
    assert traffic_history.rollup(client, retention_hours=48, now=now) >= 2
    traffic_history.rollup(client, retention_hours=48, now=now)  # a second beat tick changes nothing
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(text(
            "SELECT extract(epoch FROM bucket)::bigint, backend, ok, err, p50_ms, p99_ms FROM traffic_rollup "
            "WHERE route = 'movies' AND bucket >= to_timestamp(:b) ORDER BY 1, 2"), {"b": base}).all()
    assert [tuple(r[:4]) for r in rows] == [(base, "monolith", 60, 0), (base, "service", 30, 10),
                                            (base + 10, "service", 5, 0)]
    service = rows[1]
    assert 3.5 < service[4] < 5 and service[5] >= service[4]  # p50/p99 in ms from the histogram


def test_history_bins_series_and_marks_flag_changes(client):
    now = time.time() + AHEAD
    base = _base(now)
    for offset in range(20):
        _count(client, base + offset, {"users:service:ok": 2, "users:monolith:ok": 8, "users:monolith:err": 2})
    traffic_history.rollup(client, retention_hours=48, now=now)
    data = traffic_history.history("5m", now=now)
    assert data["step"] == 10 and len(data["times"]) == 30
    i = data["times"].index(base)
    users = data["routes"]["users"]
    assert users["monolith"]["requests"][i] == 100 and users["monolith"]["errors"][i] == 20
    assert users["service"]["requests"][i + 1] == 20
    hour = traffic_history.history("1h", now=now)
    j = hour["times"].index(base - base % 60)
    assert hour["routes"]["users"]["monolith"]["requests"][j] == 200
    flags.set_flag("users", {"mode": "gradual", "percent": 13}, "tests", "marker test")
    marks = traffic_history.history("5m")["markers"]
    assert any(m["domain"] == "users" and m["target"] == 13 and m["reason"] == "marker test" for m in marks)


def test_observed_share_counts_only_seconds_after_the_change(client):
    now = time.time() + AHEAD
    change = int(now) - 20
    for second in range(change - 15, change + 1):  # the previous step: 10 % to the service
        _count(client, second, {"payments:service:ok": 1, "payments:monolith:ok": 9})
    for second in range(change + 1, int(now)):  # after the change: 50 %
        _count(client, second, {"payments:service:ok": 5, "payments:monolith:ok": 5})
    since = traffic_history.since("payments", change + 0.4, client=client, now=now)
    assert since["service"].requests == since["monolith"].requests == 5 * (int(now) - 1 - change)


def test_retention_deletes_old_rows(client, db_url):
    with get_engine(db_url).begin() as conn:
        conn.execute(text("INSERT INTO traffic_rollup (bucket, route, backend, ok, err) VALUES "
                          "(now() - interval '3 hours', 'movies', 'service', 1, 0)"))
    traffic_history.rollup(client, retention_hours=2)
    with get_engine(db_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM traffic_rollup WHERE bucket < now() - interval '2 hours'")
                            ).scalar() == 0


def test_share_since_an_older_change_adds_the_rollup_rows(client):
    now = time.time() + AHEAD
    change = int(now) - 200
    change -= (change + 1) % 10  # the change's next second starts a bucket: every later second counts
    for second in range(change - 100, int(now)):
        after = second > change
        _count(client, second, {"users:service:ok": 5 if after else 1, "users:monolith:ok": 5 if after else 9})
    traffic_history.rollup(client, retention_hours=48, now=now)
    since = traffic_history.since("users", change + 0.2, client=client, now=now)
    assert since["service"].requests == since["monolith"].requests == 5 * (int(now) - 1 - change)
