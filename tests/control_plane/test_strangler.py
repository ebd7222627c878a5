"""Rollout cards: changes need a reason, big moves ask first, the live part shows the truth."""

from __future__ import annotations

import re
import time

import pytest

from control_plane.strangler import confirmation_needed
from strangler import flags

HX = {"HX-Request": "true"}


def _reset(domain: str) -> None:
    flags.set_flag(domain, {"mode": "gradual", "percent": 10}, "tests", "reset")


def _flag(mode: str, percent: int) -> dict:
    return {"domain": "movies", "mode": mode, "percent": percent}


@pytest.mark.parametrize(("flag", "changes", "asks"), [
    (_flag("gradual", 10), {"mode": "gradual", "percent": 25}, False),
    (_flag("gradual", 10), {"mode": "gradual", "percent": 50}, True),   # 40-point jump
    (_flag("gradual", 90), {"mode": "gradual", "percent": 100}, True),  # everything to the service
    (_flag("gradual", 50), {"mode": "service"}, True),
    (_flag("service", 100), {"mode": "gradual", "percent": 90}, False),
    (_flag("service", 100), {"mode": "gradual", "percent": 10}, True),  # service counts as 100 %
    (_flag("monolith", 0), {"mode": "gradual", "percent": 5}, False),
    (_flag("monolith", 40), {"mode": "gradual", "percent": 40}, True),  # monolith counts as 0 %
    (_flag("gradual", 10), {"mode": "monolith"}, False),
    (_flag("gradual", 10), {"fallback": True}, False),
])
def test_confirmation_rules(flag, changes, asks):
    assert (confirmation_needed(flag, changes) is not None) is asks


def test_step_button_changes_flag_with_its_reason(as_role, operators):
    _reset("payments")
    ops = as_role("ops")
    response = ops.post("/strangler/payments/percent", {"step": "25", "reason": "canary looks good"}, headers=HX)
    assert response.status_code == 200 and 'id="flag-payments"' in response.get_data(as_text=True)
    assert flags.get_flag("payments")["percent"] == 25
    latest = flags.flag_history("payments", 1)[0]
    assert latest["actor"] == operators["ops"] and latest["reason"] == "canary looks good"
    assert latest["before"]["percent"] == 10 and latest["after"]["percent"] == 25


def test_number_box_sets_any_share(as_role):
    _reset("payments")
    as_role("ops").post("/strangler/payments/percent", {"percent": "17", "reason": "odd step"}, headers=HX)
    assert flags.get_flag("payments")["percent"] == 17


def test_change_without_reason_is_refused_on_the_card(as_role):
    _reset("payments")
    response = as_role("ops").post("/strangler/payments/percent", {"step": "5", "reason": "  "}, headers=HX)
    assert "a reason is required" in response.get_data(as_text=True)
    assert flags.get_flag("payments")["percent"] == 10


def test_one_click_on_service_asks_first(as_role):
    _reset("payments")
    ops = as_role("ops")
    html = ops.post("/strangler/payments/mode", {"mode": "service", "reason": "cut over"}, headers=HX).get_data(
        as_text=True)
    assert "Send all of payments (100 %) to the service?" in html and "Yes, apply" in html
    assert flags.get_flag("payments")["mode"] == "gradual"
    ops.post("/strangler/payments/mode", {"mode": "service", "reason": "cut over", "confirm": "yes"}, headers=HX)
    assert flags.get_flag("payments")["mode"] == "service"
    _reset("payments")


def test_jump_over_25_points_needs_confirmation(as_role):
    _reset("payments")
    ops = as_role("ops")
    response = ops.post("/strangler/payments/percent", {"step": "50", "reason": "big"}, headers=HX)
    assert "Jump payments from 10 % to 50 %" in response.get_data(as_text=True)
    assert flags.get_flag("payments")["percent"] == 10
    ops.post("/strangler/payments/percent", {"percent": "50", "mode": "gradual", "reason": "big", "confirm": "yes"},
             headers=HX)
    assert flags.get_flag("payments")["percent"] == 50


def test_confirmation_without_htmx_is_a_page(as_role):
    _reset("payments")
    response = as_role("ops").post("/strangler/payments/percent", {"step": "100", "reason": "all in"})
    assert response.status_code == 200 and "Send 100 % of payments to the service?" in response.get_data(as_text=True)
    assert flags.get_flag("payments")["percent"] == 10


def test_rollback_returns_to_monolith(as_role):
    _reset("payments")
    as_role("admin").post("/strangler/payments/rollback", {})
    flag = flags.get_flag("payments")
    assert (flag["mode"], flag["percent"]) == ("monolith", 0)
    assert flags.flag_history("payments", 1)[0]["reason"].startswith("manual rollback")


def test_invalid_settings_are_shown_not_saved(as_role):
    _reset("payments")
    response = as_role("ops").post("/strangler/payments/settings",
                                   {"rollback_error_rate": "7", "fallback": "on", "reason": "tune"}, headers=HX)
    assert "rollback_error_rate" in response.get_data(as_text=True)
    assert flags.get_flag("payments")["rollback_error_rate"] != 7


def test_viewer_sees_no_write_controls(as_role):
    html = as_role("viewer").get("/strangler").get_data(as_text=True)
    assert "step-movies-5" not in html and "Roll back" not in html
    assert "Read-only" in html


def test_live_part_shows_a_change_made_elsewhere(as_role):
    viewer = as_role("viewer")
    _reset("users")
    assert "gradual 10%" in viewer.get("/strangler/users/live").get_data(as_text=True)
    flags.set_flag("users", {"percent": 35}, "cli-user", "changed from the CLI")
    html = viewer.get("/strangler/users/live").get_data(as_text=True)
    assert "gradual 35%" in html and "changed from the CLI" in html
    assert 'hx-trigger="every 5s"' in html
    # the change's time and the history rows in the console's one format (year, seconds, zone)
    stamps = re.findall(r"<time datetime=\"[^\"]+\">(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC)</time>", html)
    assert len(stamps) >= 2, html


def test_card_shows_per_domain_traffic_and_observed_share(as_role, redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    now = int(time.time())
    client.delete(*(f"traffic:{second}" for second in range(now - 120, now + 2)))  # earlier suites' gateways
    for second in range(now - 3, now + 2):  # the same mix in every second, whichever the card's window covers
        client.hset(f"traffic:{second}", mapping={"movies:service:ok": 30, "movies:service:err": 10,
                                                  "movies:monolith:ok": 60, "users:service:ok": 500})
        client.expire(f"traffic:{second}", 120)
    html = as_role("viewer").get("/strangler/movies/live").get_data(as_text=True)
    observed = html.split('data-testid="observed-movies">')[1].split("<")[0]
    assert observed == "40%"  # 40 of 100 movies requests reached the service; users' traffic is not counted
    assert "25.0%" in html  # the service's error rate: 10 of 40
    assert "Sticky per" in html or "Not sticky" in html


def test_card_version_follows_the_flag_and_the_plan(as_role):
    viewer = as_role("viewer")
    _reset("users")
    first = viewer.get("/strangler/state.json").get_json()
    assert set(first) == {"movies", "users", "payments"}
    assert f'data-version="{first["users"]}"' in viewer.get("/strangler/users/card").get_data(as_text=True)
    flags.set_flag("users", {"percent": 11}, "cli-user", "changed from the CLI")
    second = viewer.get("/strangler/state.json").get_json()
    assert second["users"] != first["users"] and second["movies"] == first["movies"]


def test_refused_htmx_change_keeps_its_status(as_role):
    _reset("payments")
    response = as_role("ops").post("/strangler/payments/settings",
                                   {"rollback_error_rate": "7", "reason": "tune"}, headers=HX)
    assert response.status_code == 400 and 'role="alert"' in response.get_data(as_text=True)


def test_help_text_names_the_header_the_gateway_buckets_on(as_role):
    _reset("payments")
    flags.set_flag("payments", {"sticky_key": "header"}, "tests", "header stickiness")
    html = as_role("viewer").get("/strangler/payments/live").get_data(as_text=True)
    assert "X-User-Id" in html and "X-Client-Id" not in html
    flags.set_flag("payments", {"sticky_key": "user"}, "tests", "reset")


def test_right_after_a_change_the_observed_share_counts_only_the_new_step(as_role, redis_url):
    import redis

    from strangler.traffic_history import epoch
    from tests.support.processes import wait_until

    client = redis.Redis.from_url(redis_url)
    flags.set_flag("users", {"mode": "gradual", "percent": 50}, "tests", "10 → 50")
    changed = epoch(flags.get_flag("users")["updated_at"])
    for second in range(int(changed) - 20, int(changed) + 1):  # the previous step: 10 % to the service
        client.hset(f"traffic:{second}", mapping={"users:service:ok": 10, "users:monolith:ok": 90})
    for second in range(int(changed) + 1, int(changed) + 4):  # the new step, as the gateway will count it
        client.hset(f"traffic:{second}", mapping={"users:service:ok": 50, "users:monolith:ok": 50})
    for second in range(int(changed) - 20, int(changed) + 4):
        client.expire(f"traffic:{second}", 120)
    viewer = as_role("viewer")

    def observed() -> tuple[str, str] | None:
        html = viewer.get("/strangler/users/live").get_data(as_text=True)
        label = html.split('data-testid="observed-label-users">')[1].split("<")[0]
        share = html.split('data-testid="observed-users">')[1].split("<")[0]
        return (label, share) if share != "—" else None

    label, share = wait_until(observed, timeout=5, message="a share since the change")
    at = time.strftime("%H:%M:%S", time.gmtime(changed))
    assert re.fullmatch(rf"Observed since {at} UTC \(\d+ s\)", label), label
    assert share == "50%"  # over 60 s it would have been 10-20 %: the previous step mixed in
