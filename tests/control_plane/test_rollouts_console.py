"""Rollout plans from the console: ops preview, confirm and start (with a reason), pause/resume/abort (audited);
running plans show the judge's verdicts and the step timeline; viewers only read."""

from __future__ import annotations

import json

import psycopg
import pytest

from strangler import flags, rollouts
from tests.proxy.conftest import libpq_url

DOMAIN = "payments"  # the proxy suite's live plan test uses movies


@pytest.fixture
def no_plan(db_url):
    """No payments plan before or after; the flag back at the monolith afterwards."""
    def clear():
        with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
            conn.execute("DELETE FROM rollout_plans WHERE domain = %s", [DOMAIN])
    clear()
    yield
    clear()
    flags.rollback(DOMAIN, "test", url=db_url)


def _actions(db_url: str) -> list[tuple[str, str]]:
    with psycopg.connect(libpq_url(db_url)) as conn:
        return conn.execute("SELECT actor, action FROM flag_audit WHERE domain = %s AND action LIKE 'rollout.%%' "
                            "ORDER BY id DESC LIMIT 4", [DOMAIN]).fetchall()


def test_ops_start_pause_resume_abort_from_the_card(as_role, operators, db_url, no_plan):
    ops = as_role("ops")
    htmx = {"HX-Request": "true"}
    form = {"steps": "5,50,100", "hold_seconds": "30", "max_error_rate": "0.01", "reason": "payments ready"}
    preview = ops.post(f"/rollouts/{DOMAIN}/start", form, headers=htmx)
    body = preview.get_data(True)
    assert preview.status_code == 200 and 'data-testid="rollout-preview-payments"' in body
    assert "+90 s" in body and "shortest plan: 90 s" in body, "the last step's earliest end"
    assert rollouts.get_plan(DOMAIN, url=db_url) is None, "nothing starts before the confirmation"
    started = ops.post(f"/rollouts/{DOMAIN}/start", {**form, "confirm": "yes"}, headers=htmx)
    assert started.status_code == 200 and 'data-testid="rollout-state-payments">running' in started.get_data(True)
    assert flags.get_flag(DOMAIN, url=db_url)["percent"] == 5
    assert rollouts.get_plan(DOMAIN, url=db_url)["gates"]["max_error_rate"] == 0.01
    assert ops.post(f"/rollouts/{DOMAIN}/pause", headers=htmx).status_code == 200
    assert rollouts.get_plan(DOMAIN, url=db_url)["state"] == "paused"
    again = ops.post(f"/rollouts/{DOMAIN}/pause", headers=htmx)
    assert again.status_code == 400 and "not running" in again.get_data(True)
    assert ops.post(f"/rollouts/{DOMAIN}/resume", headers=htmx).status_code == 200
    assert "rollout-countdown-payments" in started.get_data(True)
    assert 'data-testid="rollout-timeline-payments"' in started.get_data(True)
    assert ops.post(f"/rollouts/{DOMAIN}/abort").status_code == 302
    assert rollouts.get_plan(DOMAIN, url=db_url)["state"] == "aborted"
    assert flags.get_flag(DOMAIN, url=db_url)["mode"] == "monolith"
    assert _actions(db_url) == [(operators["ops"], f"rollout.{a}") for a in ("aborted", "resumed", "paused", "started")]


def test_bad_plans_are_refused_with_a_message(as_role, no_plan):
    ops = as_role("ops")
    response = ops.post(f"/rollouts/{DOMAIN}/start", {"steps": "50,10", "reason": "x"}, headers={"HX-Request": "true"})
    assert response.status_code == 400 and "strictly increasing" in response.get_data(True)
    assert ops.post("/rollouts/nope/start", {"steps": "1"}).status_code == 404


def test_a_plan_needs_a_reason(as_role, db_url, no_plan):
    ops = as_role("ops")
    response = ops.post(f"/rollouts/{DOMAIN}/start", {"steps": "5,100", "confirm": "yes"},
                        headers={"HX-Request": "true"})
    assert response.status_code == 400 and "reason is required" in response.get_data(True)
    assert rollouts.get_plan(DOMAIN, url=db_url) is None


def test_the_reason_and_dry_run_gates_reach_the_plan_and_its_audit_row(as_role, db_url, no_plan):
    ops = as_role("ops")
    ops.post(f"/rollouts/{DOMAIN}/start", {"steps": "5,100", "reason": "canary for the new checkout",
                                           "dry_run_latency": "on", "confirm": "yes"}, headers={"HX-Request": "true"})
    plan = rollouts.get_plan(DOMAIN, url=db_url)
    assert plan["gates"]["dry_run"] == ["latency"]
    assert "canary for the new checkout" in rollouts.timeline(DOMAIN, url=db_url)[0]["reason"]


def test_a_running_plan_shows_each_gates_verdict_with_its_numbers(as_role, db_url, no_plan):
    rollouts.start(DOMAIN, "test", steps="5,100", hold_seconds=60, url=db_url)
    judgement = {"at": 0, "action": "hold", "would": "rollback", "reason": "holding", "verdicts": [
        {"gate": "latency", "outcome": "fail", "summary": "latency: slower", "n_service": 120, "n_baseline": 900,
         "service": 0.05, "baseline": 0.01, "effect": 0.97, "p_value": 1e-9, "within": False, "dry_run": True,
         "extra": {}}]}
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute("UPDATE rollout_plans SET judgement = %s::jsonb WHERE domain = %s",
                     [json.dumps(judgement), DOMAIN])
    body = as_role("viewer").get(f"/rollouts/{DOMAIN}").get_data(True)
    assert 'data-testid="verdict-payments-latency">fail' in body
    assert "n 120 / 900" in body and "p50 50.0 ms vs 10.0 ms" in body and "P(slower) 0.97" in body and "p 1e-09" in body
    assert 'data-testid="would-payments"' in body


def test_viewers_see_the_plan_but_cannot_change_it(as_role, no_plan):
    viewer = as_role("viewer")
    assert viewer.post(f"/rollouts/{DOMAIN}/start", {"steps": "1,100"}).status_code == 403
    page = viewer.get(f"/rollouts/{DOMAIN}")
    assert page.status_code == 200 and "Start rollout" not in page.get_data(True)


def test_the_form_needs_a_csrf_token(as_role, no_plan):
    ops = as_role("ops")
    response = ops.client.post(f"/rollouts/{DOMAIN}/start", data={"steps": "1,100"})
    assert response.status_code == 400
    assert rollouts.get_plan(DOMAIN) is None
