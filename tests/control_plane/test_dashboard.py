"""Dashboard chart data: the gateway's ``monolith`` route is the chart's "other" series."""

from __future__ import annotations

import time

import redis

from control_plane import traffic


def test_unrouted_traffic_is_the_other_series(console_app, redis_url):
    client = redis.Redis.from_url(redis_url)
    now = time.time() + 3600  # an hour ahead: a second no other test writes to
    second = int(now) - 2
    client.hset(f"traffic:{second}", mapping={"monolith:monolith:ok": 7, "monolith:monolith:err": 1,
                                              "movies:service:ok": 2})
    client.expire(f"traffic:{second}", 60)
    with console_app.app_context():
        data = traffic.series(window=5, now=now)
    assert data["totals"]["other"] == 8 and data["totals"]["movies"] == 2
    assert data["requests"]["monolith"][-2] == 8 and data["requests"]["service"][-2] == 2
    assert data["error_rate"]["other"][-2] == 0.125


def test_traffic_json_is_served(as_role):
    response = as_role("viewer").get("/dashboard/traffic.json")
    assert response.status_code == 200 and "other" in response.get_json()["totals"]
