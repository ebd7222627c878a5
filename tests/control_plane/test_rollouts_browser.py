"""A plan started in the browser like a manual step (reason, preview, confirmation), then followed live:
countdown, each gate's verdict and the step timeline, at 1440 and 390 px."""

from __future__ import annotations

import json
import time

import psycopg

from strangler import rollouts
from tests.control_plane.test_browser import SHOTS, browser, console_url, login, shot  # noqa: F401 (fixtures)
from tests.proxy.conftest import libpq_url

DOMAIN = "payments"
JUDGEMENT = {"at": time.time() + 60, "action": "hold", "would": None, "reason": "holding", "verdicts": [
    {"gate": "error_rate", "outcome": "pass", "summary": "service error rate within the bound", "n_service": 4200,
     "n_baseline": 81000, "service": 0.0002, "baseline": 0.0003, "effect": -0.0001, "p_value": 0.71,
     "within": True, "dry_run": False, "extra": {}},
    {"gate": "latency", "outcome": "fail", "summary": "latency: service slower beyond the allowed ratio",
     "n_service": 4200, "n_baseline": 81000, "service": 0.0488, "baseline": 0.0098, "effect": 0.97,
     "p_value": 1e-12, "within": False, "dry_run": True,
     "extra": {"service_p99": 0.119, "baseline_p99": 0.0305}},
    {"gate": "mismatch", "outcome": "skipped", "summary": "shadow mismatch: shadow traffic is off",
     "n_service": 0, "n_baseline": 0, "service": None, "baseline": 0.01, "effect": None, "p_value": None,
     "within": None, "dry_run": False, "extra": {}}]}


def _clear(db_url: str) -> None:
    plan = rollouts.get_plan(DOMAIN, url=db_url)
    if plan and plan["state"] in ("running", "paused"):
        rollouts.abort(DOMAIN, "tests", url=db_url)


def test_start_a_plan_with_care_and_follow_its_verdicts(login, console_url, db_url):  # noqa: F811
    _clear(db_url)
    page = login("ops")
    page.goto(f"{console_url}/strangler")
    page.locator(f"#plan-start-{DOMAIN} summary").click()
    page.get_by_test_id(f"rollout-reason-{DOMAIN}").fill("new checkout, shadowed clean for a day")
    page.locator(f"#rollout-steps-{DOMAIN}").fill("5,25,100")
    page.locator(f"#rollout-hold-{DOMAIN}").fill("3600")
    page.get_by_test_id(f"rollout-start-{DOMAIN}").click()
    preview = page.get_by_test_id(f"rollout-preview-{DOMAIN}")
    preview.wait_for(timeout=5000)
    assert "+10800 s" in preview.inner_text()
    assert (rollouts.get_plan(DOMAIN, url=db_url) or {}).get("state") != "running", "nothing starts unconfirmed"
    page.get_by_test_id(f"rollout-confirm-{DOMAIN}").click()
    page.get_by_test_id(f"rollout-countdown-{DOMAIN}").first.wait_for(timeout=5000)
    assert rollouts.get_plan(DOMAIN, url=db_url)["state"] == "running"
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:  # what the runner stores each tick
        conn.execute("UPDATE rollout_plans SET judgement = %s::jsonb WHERE domain = %s",
                     [json.dumps(JUDGEMENT), DOMAIN])
    verdict = page.get_by_test_id(f"verdict-{DOMAIN}-latency").first
    verdict.wait_for(timeout=12_000)  # the card's live part re-polls
    assert verdict.inner_text() == "fail"
    assert "P(slower) 0.97" in page.get_by_test_id(f"verdicts-{DOMAIN}").first.inner_text()
    assert "new checkout" in page.get_by_test_id(f"rollout-timeline-{DOMAIN}").first.inner_text()
    shot(page, "30-rollout-plan-verdicts")
    page.set_viewport_size({"width": 390, "height": 844})  # the plan section alone, as a phone shows it
    page.locator(f"#rollout-{DOMAIN}").first.screenshot(path=str(SHOTS / "30-rollout-plan-section-390.png"))
    rollouts.abort(DOMAIN, "tests", url=db_url)
