"""The console in headless Chromium against a real console process, database and broker.

Screenshots go to ``test-artifacts/screenshots/`` for a human to look at.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from domain_services.shared import flags
from domain_services.shared.db import read_session
from domain_services.shared.models import FlagAudit, OutboxEvent
from tests.control_plane.conftest import PASSWORD
from tests.support.processes import ROOT, free_port, running, wait_until

pytestmark = pytest.mark.browser
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def console_url(db_url, operators, kafka_brokers, redis_url):
    """A real ``python -m control_plane`` process on a free port."""
    with running("console", "control_plane", port=free_port(), health_path="/login",
                 env={"SECRET_KEY": "browser-test-secret", "WEB_WORKERS": "1"}) as proc:
        yield proc.url


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium from the Debian package."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def login(browser, console_url, operators):
    """``login(role)`` → a page logged in as that role (closed after the test)."""
    contexts = []

    def do(role: str):
        context = browser.new_context(viewport={"width": 1360, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{console_url}/login")
        page.get_by_label("Username").fill(operators[role])
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{console_url}/")
        return page

    yield do
    for context in contexts:
        context.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _audit_rows(domain: str, actor: str) -> int:
    with read_session() as session:
        return len(session.scalars(select(FlagAudit.id).where(FlagAudit.domain == domain,
                                                              FlagAudit.actor == actor)).all())


def test_ops_moves_movies_slider(login, console_url, operators):
    flags.set_flag("movies", {"mode": "gradual", "percent": 20}, "tests", "browser test reset")
    before = _audit_rows("movies", operators["ops"])
    page = login("ops")
    page.wait_for_selector("#requests-chart")
    page.wait_for_function("document.getElementById('chart-status').textContent !== 'Loading traffic…'")
    shot(page, "01-dashboard-ops")
    page.goto(f"{console_url}/strangler")
    page.get_by_test_id("slider-movies").fill("35")
    wait_until(lambda: flags.get_flag("movies")["percent"] == 35, message="movies flag at 35%")
    wait_until(lambda: _audit_rows("movies", operators["ops"]) == before + 1, message="audit row")
    page.wait_for_selector("#flag-movies .badge:has-text('gradual 35%')")
    page.get_by_test_id("slider-movies").fill("90")  # a 55-point jump asks first
    page.get_by_test_id("confirm-movies").wait_for()
    shot(page, "02-strangler-confirm")
    assert flags.get_flag("movies")["percent"] == 35
    page.get_by_test_id("confirm-movies").click()
    wait_until(lambda: flags.get_flag("movies")["percent"] == 90, message="confirmed jump")
    page.wait_for_selector("#flag-movies .badge:has-text('gradual 90%')")
    shot(page, "03-strangler-after")
    page.goto(f"{console_url}/audit?domain=movies")
    shot(page, "04-audit")
    flags.rollback("movies", "tests", "browser test cleanup")


def test_editor_creates_movie_and_its_event_reaches_the_topic(login, console_url, kafka_brokers):
    title = f"Browser Movie {uuid.uuid4().hex[:8]}"
    page = login("editor")
    page.goto(f"{console_url}/admin/movies/new/")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Rating").fill("8.1")
    page.get_by_label("Genres").fill("Drama, Mystery")
    shot(page, "05-admin-movie-new")
    page.locator("input[type=submit]").first.click()
    page.wait_for_url(lambda url: "/admin/movies/" in url and "/new/" not in url)
    page.goto(f"{console_url}/admin/movies/?search={title}")
    page.wait_for_selector(f"text={title}")
    shot(page, "06-admin-movie-list")

    def outbox_row():
        with read_session() as session:
            row = session.scalars(select(OutboxEvent).where(
                OutboxEvent.payload["payload"]["title"].astext == title)).first()
            return (row.event_type, row.topic) if row else None

    assert wait_until(outbox_row, message="outbox row") == ("movie.created", "movie-events")
    # Relay the outbox with the worker's own relay function (the Celery worker is not part of
    # this test's process set), then find the event in the topic viewer.
    from confluent_kafka import Producer

    from domain_services.shared.db import get_engine
    from worker.relay import relay_pending

    producer = Producer({"bootstrap.servers": kafka_brokers, "enable.idempotence": True, "acks": "all"})
    relay_pending(get_engine(), producer, max_seconds=20)
    ops = login("ops")
    ops.goto(f"{console_url}/kafka/movie-events?q={title}")
    ops.wait_for_selector(f"pre:has-text('{title}')")
    shot(ops, "07-kafka-topic-ops")
    ops.goto(f"{console_url}/kafka")
    shot(ops, "08-kafka-topics")
    ops.goto(f"{console_url}/events?type=movie")
    ops.wait_for_selector("table.messages")
    shot(ops, "09-events")


def test_viewer_sees_no_write_controls(login, console_url, kafka_topic):
    page = login("viewer")
    shot(page, "10-dashboard-viewer")
    page.goto(f"{console_url}/strangler")
    assert page.locator("input[type=range]").count() == 0
    assert page.get_by_role("button", name="Roll back to monolith").count() == 0
    shot(page, "11-strangler-viewer")
    page.goto(f"{console_url}/kafka/{kafka_topic}")
    assert page.get_by_role("button", name="Republish").count() == 0
    assert page.get_by_text("Produce a test message").count() == 0
    assert page.get_by_text("a***@example.com").count() >= 1
    shot(page, "12-kafka-viewer-masked")
    assert page.goto(f"{console_url}/admin/movies/").status == 403
