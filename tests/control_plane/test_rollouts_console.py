"""Rollout plans from the console: ops start/pause/resume/abort (audited); viewers only read."""

from __future__ import annotations

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
    started = ops.post(f"/rollouts/{DOMAIN}/start", {"steps": "5,50,100", "hold_seconds": "30",
                                                      "max_error_rate": "0.01"}, headers=htmx)
    assert started.status_code == 200 and 'data-testid="rollout-state-payments">running' in started.get_data(True)
    assert flags.get_flag(DOMAIN, url=db_url)["percent"] == 5
    assert rollouts.get_plan(DOMAIN, url=db_url)["gates"]["max_error_rate"] == 0.01
    assert ops.post(f"/rollouts/{DOMAIN}/pause", headers=htmx).status_code == 200
    assert rollouts.get_plan(DOMAIN, url=db_url)["state"] == "paused"
    again = ops.post(f"/rollouts/{DOMAIN}/pause", headers=htmx)
    assert again.status_code == 400 and "not running" in again.get_data(True)
    assert ops.post(f"/rollouts/{DOMAIN}/resume", headers=htmx).status_code == 200
    assert ops.post(f"/rollouts/{DOMAIN}/abort").status_code == 302
    assert rollouts.get_plan(DOMAIN, url=db_url)["state"] == "aborted"
    assert flags.get_flag(DOMAIN, url=db_url)["mode"] == "monolith"
    assert _actions(db_url) == [(operators["ops"], f"rollout.{a}") for a in ("aborted", "resumed", "paused", "started")]


def test_bad_plans_are_refused_with_a_message(as_role, no_plan):
    ops = as_role("ops")
    response = ops.post(f"/rollouts/{DOMAIN}/start", {"steps": "50,10"}, headers={"HX-Request": "true"})
    assert response.status_code == 400 and "strictly increasing" in response.get_data(True)
    assert ops.post("/rollouts/nope/start", {"steps": "1"}).status_code == 404


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
