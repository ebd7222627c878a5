"""Strangler controls write the flag row and its audit row through the shared flag store."""

from __future__ import annotations

from domain_services.shared import flags


def _reset(domain: str) -> None:
    flags.set_flag(domain, {"mode": "gradual", "percent": 10}, "tests", "reset")


def test_slider_changes_flag_and_writes_audit(as_role, operators):
    _reset("payments")
    ops = as_role("ops")
    response = ops.post("/strangler/payments/percent", {"percent": "30"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'id="flag-payments"' in response.get_data(as_text=True)
    assert flags.get_flag("payments")["percent"] == 30
    latest = flags.flag_history("payments", 1)[0]
    assert latest["actor"] == operators["ops"]
    assert latest["before"]["percent"] == 10 and latest["after"]["percent"] == 30


def test_jump_over_25_points_needs_confirmation(as_role):
    _reset("payments")
    ops = as_role("ops")
    response = ops.post("/strangler/payments/percent", {"percent": "90"}, headers={"HX-Request": "true"})
    assert "Confirm jump" in response.get_data(as_text=True)
    assert flags.get_flag("payments")["percent"] == 10
    ops.post("/strangler/payments/percent", {"percent": "90", "confirm": "yes"}, headers={"HX-Request": "true"})
    assert flags.get_flag("payments")["percent"] == 90


def test_rollback_returns_to_monolith(as_role):
    _reset("payments")
    as_role("admin").post("/strangler/payments/rollback", {})
    flag = flags.get_flag("payments")
    assert (flag["mode"], flag["percent"]) == ("monolith", 0)
    assert flags.flag_history("payments", 1)[0]["reason"].startswith("manual rollback")


def test_invalid_settings_are_shown_not_saved(as_role):
    _reset("payments")
    ops = as_role("ops")
    response = ops.post("/strangler/payments/settings", {"rollback_error_rate": "7", "fallback": "on"},
                        headers={"HX-Request": "true"})
    assert "rollback_error_rate" in response.get_data(as_text=True)
    assert flags.get_flag("payments")["rollback_error_rate"] != 7


def test_viewer_sees_no_write_controls(as_role):
    html = as_role("viewer").get("/strangler").get_data(as_text=True)
    assert 'type="range"' not in html and "Roll back" not in html
    assert "Read-only" in html
