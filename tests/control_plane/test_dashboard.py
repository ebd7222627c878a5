"""Dashboard chart data: the gateway's ``monolith`` route is the chart's "other" series."""

from __future__ import annotations

import time
from datetime import UTC, datetime

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


def test_observed_share_since_the_change_leaves_the_previous_step_out(console_app, redis_url):
    from control_plane import migration_health
    from strangler.rollout_gates import latency_field

    client = redis.Redis.from_url(redis_url)
    now = time.time() + 5400
    change = int(now) - 6  # "12 % six seconds after 10 → 50" must read 50 %
    for second in range(change - 50, int(now)):
        after = second > change
        fields = {"movies:service:ok": 5 if after else 1, "movies:monolith:ok": 4 if after else 9,
                  "movies:monolith:err": 1, latency_field("movies", "service", 0.012): 5}
        client.hset(f"traffic:{second}", mapping=fields)
        client.expire(f"traffic:{second}", 120)
    flag = {"domain": "movies", "mode": "gradual", "percent": 50, "persisted": True,
            "updated_at": datetime.fromtimestamp(change + 0.5, UTC).isoformat()}
    health = migration_health.overview([flag], {"movies": None}, client=client, now=now, only="movies")[0]
    assert health.since.share == 50.0 and health.target == 50
    assert health.backends["monolith"].error_rate is not None
    assert 10 < health.backends["service"].p50_ms < 16


def test_dashboard_shows_each_domain_with_target_and_plan(as_role):
    from strangler import flags

    flags.set_flag("payments", {"mode": "gradual", "percent": 20}, "tests", "dashboard")
    html = as_role("viewer").get("/").get_data(as_text=True)
    for domain in ("movies", "users", "payments", "events", "other"):
        assert f'data-testid="health-{domain}"' in html
    assert 'data-testid="target-share-payments">20%' in html


def test_history_json_refuses_unknown_ranges_and_marks_changes(as_role):
    from strangler import flags

    viewer = as_role("viewer")
    assert viewer.get("/dashboard/history.json?domain=movies&range=7d").status_code == 400
    assert viewer.get("/dashboard/history.json?domain=nope&range=5m").get_json()["error"]
    flags.set_flag("users", {"mode": "gradual", "percent": 33}, "tests", "history marker")
    body = viewer.get("/dashboard/history.json?domain=users&range=1h").get_json()
    assert len(body["labels"]) == 60 and body["labels"][0].endswith(" UTC")
    assert any(m["target"] == 33 for m in body["markers"]) and body["target"][-1] == 33


def test_card_health_line_is_served(as_role):
    html = as_role("viewer").get("/dashboard/movies/health").get_data(as_text=True)
    assert "Since this change" in html and as_role("viewer").get("/dashboard/nope/health").status_code == 404
