"""The console in headless Chromium against a real console process, database and broker.

Each workflow of the console is driven as an operator would, at 1440x900, and its pages are
photographed at 1440x900 and 390x844 into ``test-artifacts/screenshots/`` for a human to look
at. Every page is also checked for sideways scrolling at 390 px, 404s (favicon included) and
Content-Security-Policy violations (a policy that broke htmx would show up here).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select

from kernel.db import read_session
from kernel.models import FlagAudit, OutboxEvent
from strangler import flags
from tests.control_plane.conftest import PASSWORD
from tests.support.processes import ROOT, free_port, running, wait_until

pytestmark = pytest.mark.browser
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


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


class Watch:
    """What went wrong in a page while a test drove it: HTTP 404s and CSP refusals."""

    def __init__(self, page) -> None:
        self.not_found: list[str] = []
        self.csp: list[str] = []
        page.on("response", lambda r: self.not_found.append(r.url) if r.status == 404 else None)
        page.on("console", lambda m: self.csp.append(m.text) if "Content Security Policy" in m.text else None)


@pytest.fixture
def login(browser, console_url, operators):
    """``login(role)`` → a logged-in page (1440x900) with a :class:`Watch` as ``page.watch``."""
    contexts = []

    def do(role: str):
        context = browser.new_context(viewport=DESKTOP)
        contexts.append(context)
        page = context.new_page()
        page.watch = Watch(page)
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
    """Photograph the page at 1440x900 and at 390x844; at 390 px the page must not scroll sideways."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-1440.png"), full_page=True)
    page.set_viewport_size(PHONE)
    fits = f"() => document.documentElement.scrollWidth <= {PHONE['width']}"
    with contextlib.suppress(PlaywrightTimeout):  # charts resize through a ResizeObserver: bounded wait
        page.wait_for_function(fits, timeout=3000)
    width = page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=str(SHOTS / f"{name}-390.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    assert width <= PHONE["width"], f"{name}: page is {width}px wide at 390px"


def clean(page) -> None:
    """No 404 (favicon included) and no CSP refusal happened on ``page``."""
    assert page.watch.not_found == []
    assert page.watch.csp == []


def _audit_rows(domain: str, actor: str) -> int:
    with read_session() as session:
        return len(session.scalars(select(FlagAudit.id).where(FlagAudit.domain == domain,
                                                              FlagAudit.actor == actor)).all())


def test_rollout_control_room(login, console_url, operators):
    flags.set_flag("movies", {"mode": "gradual", "percent": 1}, "tests", "browser test reset")
    before = _audit_rows("movies", operators["ops"])
    page = login("ops")
    page.wait_for_function("() => document.getElementById('chart-status').textContent !== 'Loading history…'")
    shot(page, "01-dashboard-ops")
    page.goto(f"{console_url}/strangler")
    page.get_by_test_id("step-movies-5").click()  # no reason: the browser refuses to submit
    assert page.evaluate("document.getElementById('reason-movies').validity.valueMissing")
    page.get_by_test_id("reason-movies").fill("canary healthy for 30 min")
    page.get_by_test_id("step-movies-5").click()
    wait_until(lambda: flags.get_flag("movies")["percent"] == 5, message="movies at 5%")
    page.wait_for_selector("#flag-movies [data-testid=mode-movies]:has-text('gradual 5%')")
    assert flags.flag_history("movies", 1)[0]["reason"] == "canary healthy for 30 min"
    assert _audit_rows("movies", operators["ops"]) == before + 1
    shot(page, "02-strangler-after-step")
    page.get_by_test_id("reason-movies").fill("cut over")
    page.get_by_test_id("mode-movies-service").click()  # one click on "service" asks first
    page.get_by_test_id("confirm-movies").wait_for()
    assert flags.get_flag("movies")["mode"] == "gradual"
    shot(page, "03-strangler-confirm-service")
    page.get_by_test_id("cancel-movies").click()
    page.get_by_test_id("confirm-movies").wait_for(state="detached")
    assert flags.get_flag("movies")["mode"] == "gradual"
    flags.set_flag("movies", {"percent": 12}, "cli-operator", "changed from the CLI")  # the card refreshes itself
    page.wait_for_selector("#flag-movies [data-testid=mode-movies]:has-text('gradual 12%')", timeout=15_000)
    page.wait_for_selector("#flag-movies td:has-text('changed from the CLI')")
    page.goto(f"{console_url}/audit?domain=movies")
    shot(page, "04-audit")
    clean(page)
    flags.rollback("movies", "tests", "browser test cleanup")


@pytest.fixture
def viewer_topic(kafka_brokers):
    """A two-partition topic with a user event on each partition."""
    name = f"console-browser-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka_brokers})
    admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])[name].result(10)
    producer = Producer({"bootstrap.servers": kafka_brokers})
    for partition in (0, 1):
        value = {"type": "user", "action": "created", "payload": {"email": f"p{partition}@example.com"}}
        producer.produce(name, key=f"{partition + 1}".encode(), value=json.dumps(value).encode(), partition=partition,
                         headers=[("trace", f"t-{partition}")])
    assert producer.flush(10) == 0
    yield name, producer
    admin.delete_topics([name])[name].result(10)


def test_topic_viewer_workflow(login, console_url, viewer_topic):
    topic, producer = viewer_topic
    page = login("ops")
    page.goto(f"{console_url}/kafka/{topic}")
    # the consumer groups arrive in their own request after the messages
    page.wait_for_selector("#groups:not(:has-text('Loading consumer groups'))", timeout=15_000)
    page.get_by_label("Partition").select_option("1")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(lambda url: "partition=1" in url)
    assert page.locator(".msg").count() == 1 and "1/0" in page.locator(".msg .po").first.inner_text()
    page.locator("#m-1-0 summary").click()
    page.wait_for_selector("#v-1-0:has-text('p1@example.com')")
    assert page.locator("#m-1-0 .drawer").get_by_text("trace").count() == 1
    shot(page, "05-kafka-drawer")

    page.goto(f"{console_url}/kafka/{topic}")
    page.locator("#m-0-0 summary").click()  # an open drawer survives the live tail
    page.locator("#live-tail").check()
    producer.produce(topic, key=b"9", value=b'{"type": "test", "action": "tail"}', partition=0)
    producer.flush(10)
    page.wait_for_selector("#m-0-1", timeout=15_000)
    assert page.locator("#m-0-0 details").get_attribute("open") is not None
    assert page.locator(".msg").first.get_attribute("id") == "m-0-1"  # newest on top
    page.locator("#live-tail").uncheck()
    page.wait_for_selector("#tail-status:has-text('paused')")
    shot(page, "06-kafka-live-tail")

    page.goto(f"{console_url}/kafka/{topic}?partition=0&limit=20")
    page.get_by_text("Produce a test message").click()
    page.get_by_label("Key", exact=True).fill("produced-in-browser")
    page.get_by_role("button", name="Produce").click()
    page.wait_for_selector(".flash:has-text('produced to partition')")
    assert "partition=0" in page.url and "limit=20" in page.url  # the filters are kept

    page.locator("#m-0-0 summary").click()
    page.locator("#m-0-0").get_by_role("button", name="Republish…").click()
    page.wait_for_selector("text=Republish it")
    shot(page, "07-kafka-republish-confirm")
    page.get_by_role("button", name="Republish it").click()
    page.wait_for_selector(".flash:has-text('republished 0/0')")
    assert "partition=0" in page.url
    page.goto(f"{console_url}/kafka")
    shot(page, "08-kafka-topics-groups")
    clean(page)


def test_viewer_sees_masked_messages_and_no_write_controls(login, console_url, viewer_topic):
    topic, _producer = viewer_topic
    page = login("viewer")
    shot(page, "09-dashboard-viewer")
    page.goto(f"{console_url}/strangler")
    assert page.locator("[data-testid^=step-]").count() == 0
    assert page.get_by_role("button", name="Roll back to monolith").count() == 0
    shot(page, "10-strangler-viewer")
    page.goto(f"{console_url}/kafka/{topic}")
    page.locator("#m-0-0 summary").click()
    assert page.get_by_text("p0@example.com").count() == 0
    assert page.locator("#v-0-0").inner_text().count("***") >= 1
    assert page.get_by_role("button", name="Republish…").count() == 0
    shot(page, "11-kafka-viewer-masked")
    assert page.goto(f"{console_url}/admin/movies/").status == 403
    clean(page)


def test_catalogue_workflow(login, console_url, kafka_brokers):
    from domain_services.payments import services as payments
    from domain_services.payments.models import Payment
    from domain_services.users import services as users

    tag = uuid.uuid4().hex[:8]
    user = users.create_user({"username": f"browser-{tag}", "email": f"browser-{tag}@example.com",
                              "password": "pw-123456789"})
    page = login("admin")
    page.goto(f"{console_url}/admin/movies/new/")
    page.get_by_label("Title").fill(f"Too good {tag}")
    page.get_by_label("Rating").fill("11")
    page.locator("input[type=submit]").first.click()
    page.wait_for_selector("text=rating must be at most 10")
    assert "rating must be at most 10" in page.locator("#rating").locator("xpath=..").inner_text()
    shot(page, "12-catalogue-error-on-field")

    page.goto(f"{console_url}/admin/subscriptions/new/")
    page.locator("#user_id").fill(str(user["id"]))
    page.locator("#start_date").fill("2026-12-25T00:00")  # as the picker leaves it
    page.locator("#end_date").press_sequentially("01252027")  # as typed on a US-locale keyboard
    page.locator("#end_date").press("Tab")
    page.locator("#end_date").press_sequentially("0930AM")
    shot(page, "13-subscription-form")
    page.locator("input[type=submit]").first.click()
    page.wait_for_url(lambda url: "/new/" not in url)
    with read_session() as session:
        row = session.scalars(select(FlagAudit).where(FlagAudit.action == "catalogue.subscription.created",
                                                      FlagAudit.actor == "test-admin").order_by(FlagAudit.id.desc())
                              ).first()
        after = row.after
    assert after["start_date"].startswith("2026-12-25T00:00") and after["end_date"].startswith("2027-01-25T09:30")

    payment = payments.create_payment({"user_id": user["id"], "amount": 3})
    page.goto(f"{console_url}/admin/payments/edit/?id={payment['id']}")
    assert page.locator("#status").input_value() == "pending"  # saving untouched changes nothing
    page.locator("input[type=submit]").first.click()
    page.wait_for_selector("text=Nothing changed")
    with read_session() as session:
        assert session.get(Payment, payment["id"]).status == "pending"
    shot(page, "14-payment-edit-transitions")
    page.goto(f"{console_url}/admin/payments/?flt0_0={user['id']}")
    page.locator(f"a.fk-link[href='/admin/users/details/?id={user['id']}']").first.click()
    page.wait_for_selector(f"text=browser-{tag}")
    shot(page, "15-user-details-via-fk")

    # a movie created here reaches the topic; from the event, a link leads back to the record
    title = f"Browser Movie {tag}"
    page.goto(f"{console_url}/admin/movies/new/")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Rating").fill("8.1")
    page.get_by_label("Genres").fill("Drama, Mystery")
    page.locator("input[type=submit]").first.click()
    page.wait_for_url(lambda url: "/new/" not in url)
    wait_until(lambda: _outbox_row(title), message="outbox row")
    from kernel.db import get_engine
    from worker.relay import relay_pending

    relay_pending(get_engine(), Producer({"bootstrap.servers": kafka_brokers, "enable.idempotence": True,
                                          "acks": "all"}), max_seconds=20)
    page.goto(f"{console_url}/kafka/movie-events?q={title}")
    page.locator(".msg summary").first.click()
    page.get_by_test_id("record-link").first.click()
    page.wait_for_selector(f"text={title}")
    shot(page, "16-movie-from-event")
    page.goto(f"{console_url}/events?type=movie")
    page.wait_for_selector("table.messages")
    shot(page, "17-events")
    clean(page)


def _outbox_row(title: str) -> bool:
    with read_session() as session:
        return session.scalars(select(OutboxEvent.id).where(
            OutboxEvent.payload["payload"]["title"].astext == title)).first() is not None


def test_logout_revokes_the_cookie_in_the_browser(login, browser, console_url):
    page = login("editor")
    cookies = page.context.cookies()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(lambda url: "/login" in url)
    replay = browser.new_context(viewport=DESKTOP)
    replay.add_cookies(cookies)
    other = replay.new_page()
    other.goto(f"{console_url}/audit")
    assert "/login" in other.url
    shot(other, "18-login-after-logout")
    replay.close()


def _no_plan(domain: str) -> None:
    from strangler import rollouts

    plan = rollouts.get_plan(domain)
    if plan and plan["state"] in ("running", "paused"):
        rollouts.abort(domain, "tests")


def test_card_controls_follow_changes_made_anywhere(login, console_url):
    from strangler import rollouts

    _no_plan("users")
    flags.rollback("users", "tests", "browser test reset")
    page = login("ops")
    page.goto(f"{console_url}/strangler")
    card = "#flag-users"
    assert page.locator(f"{card} button:has-text('Roll back to monolith')").is_disabled()
    page.get_by_test_id("reason-users").fill("half-typed reason")
    page.locator("#settings-users summary").click()
    rollouts.start("users", "cli-operator", steps="5,10", hold_seconds=3600)  # a plan started elsewhere
    # within about a second every control shows the flag at 5 %: no reload
    page.wait_for_selector(f"{card} button:has-text('Roll back to monolith'):enabled", timeout=2500)
    assert "current" in page.get_by_test_id("step-users-5").get_attribute("class")
    assert "current" not in page.get_by_test_id("mode-users-monolith").get_attribute("class")
    assert page.locator(f"{card} [data-testid=rollout-users]").count() == 1  # the running plan, once
    assert page.get_by_test_id("reason-users").input_value() == "half-typed reason"
    assert page.locator("#settings-users").get_attribute("open") is not None
    shot(page, "19-strangler-running-plan")
    rollouts.abort("users", "cli-operator")
    page.wait_for_selector(f"{card} button:has-text('Roll back to monolith'):disabled", timeout=2500)
    assert "current" in page.get_by_test_id("mode-users-monolith").get_attribute("class")
    assert "current" not in page.get_by_test_id("step-users-5").get_attribute("class")
    assert page.locator("#plan-start-users").count() == 1  # a new plan can be started again
    flags.set_flag("users", {"mode": "gradual", "percent": 7}, "gateway", "automatic rollback stand-in")
    page.wait_for_selector(f"{card} [data-testid=percent-users][value='7']", timeout=2500)
    clean(page)


def test_a_refused_action_says_why_next_to_its_control(login, console_url):
    _no_plan("payments")
    page = login("ops")
    page.goto(f"{console_url}/strangler")
    page.locator("#plan-start-payments summary").click()
    if page.locator("#rollout-reason-payments").count():
        page.locator("#rollout-reason-payments").fill("canary")
    page.locator("#rollout-steps-payments").fill("50,10")
    page.get_by_test_id("rollout-start-payments").click()
    error = page.locator("#rollout-payments [data-testid=action-error]")
    error.wait_for(timeout=5000)
    assert "strictly increasing" in error.inner_text()
    page.locator("#settings-payments summary").click()
    page.locator("#rate-payments").evaluate("el => el.removeAttribute('max')")
    page.locator("#rate-payments").fill("7")
    page.locator("#sreason-payments").fill("tune")
    page.locator("#settings-payments button[type=submit]").click()
    settings_error = page.locator("#settings-payments [data-testid=action-error]")
    settings_error.wait_for(timeout=5000)
    assert "rollback_error_rate" in settings_error.inner_text()
    assert page.locator("#sreason-payments").input_value() == "tune"  # nothing typed is lost
    shot(page, "20-strangler-error-next-to-control")
    clean(page)


def test_confirmation_keeps_the_focus(login, console_url):
    _no_plan("movies")
    flags.set_flag("movies", {"mode": "gradual", "percent": 1}, "tests", "browser test reset")
    page = login("ops")
    page.goto(f"{console_url}/strangler")
    page.get_by_test_id("reason-movies").fill("cut over")
    page.get_by_test_id("mode-movies-service").click()
    page.get_by_test_id("confirm-movies").wait_for()
    page.wait_for_function("() => document.activeElement.dataset.testid === 'confirm-movies'")
    for _ in range(3):
        page.keyboard.press("Tab")
        assert page.evaluate("() => !!document.activeElement.closest('#flag-movies [data-focus-trap]')")
    page.get_by_test_id("cancel-movies").click()
    clean(page)


def _seed_history(domain: str, hours: int = 24) -> None:
    """A day of 10-second rollup rows for ``domain`` (both backends), as the beat task would have written."""
    from sqlalchemy import text

    from kernel.db import get_engine

    with get_engine().begin() as conn:
        conn.execute(text(
            "INSERT INTO traffic_rollup (bucket, route, backend, ok, err, p50_ms, p99_ms) "
            "SELECT to_timestamp(floor(extract(epoch FROM t) / 10) * 10), :d, b, "
            "CASE b WHEN 'service' THEN 20 ELSE 80 END, (extract(minute FROM t) = 7)::int * 3, "
            "CASE b WHEN 'service' THEN 4.2 ELSE 6.5 END, CASE b WHEN 'service' THEN 18 ELSE 25 END "
            "FROM generate_series(now() - make_interval(hours => :h), now() - interval '30 seconds', "
            "interval '10 seconds') t, unnest(ARRAY['monolith', 'service']) b ON CONFLICT DO NOTHING"),
            {"d": domain, "h": hours})


@contextlib.contextmanager
def _live_traffic(redis_url: str, domain: str, seconds: int = 90):
    """Gateway counters for ``domain`` around now (removed afterwards: other tests count this traffic)."""
    import time

    import redis

    from strangler.rollout_gates import latency_field

    client = redis.Redis.from_url(redis_url)
    now = int(time.time())
    span = range(now - seconds, now + 60)
    pipe = client.pipeline(transaction=False)
    for second in span:
        pipe.hset(f"traffic:{second}", mapping={f"{domain}:service:ok": 2, f"{domain}:monolith:ok": 8,
                                                f"{domain}:monolith:err": 1,
                                                latency_field(domain, "service", 0.004): 2,
                                                latency_field(domain, "monolith", 0.009): 8})
        pipe.expire(f"traffic:{second}", 300)
    pipe.execute()
    try:
        yield
    finally:
        client.delete(*(f"traffic:{second}" for second in span))


def test_dashboard_answers_how_each_migration_is_doing(login, console_url, redis_url):

    _no_plan("movies")
    flags.set_flag("movies", {"mode": "gradual", "percent": 10}, "tests", "dashboard screenshot")
    _seed_history("movies")
    with _live_traffic(redis_url, "movies"):
        _watch_dashboard(login, console_url)


def _watch_dashboard(login, console_url):
    from strangler import rollouts

    rollouts.start("movies", "cli-operator", steps="20,50", hold_seconds=3600)
    page = login("viewer")
    page.wait_for_selector("[data-testid=plan-movies]:has-text('running')")
    assert page.get_by_test_id("target-share-movies").inner_text() == "20%"
    assert page.locator("[data-testid=health-movies] td.num").nth(2).inner_text() != "0.00"  # monolith req/s
    page.wait_for_function("() => document.getElementById('chart-status').textContent.startsWith('History of movies')")
    page.get_by_label("24h").check()
    page.wait_for_function("() => document.getElementById('chart-status').textContent.includes('over 24h')")
    assert page.locator("#history-markers li").count() >= 1  # the plan start and its first step
    shot(page, "21-dashboard-health-24h")
    page.goto(f"{console_url}/strangler")
    page.wait_for_selector("[data-testid=since-movies]:has-text('observed')")
    shot(page, "22-strangler-card-running-plan")
    rollouts.abort("movies", "tests")
    clean(page)


def test_catalogue_add_filter_works_under_the_csp(login, console_url):
    page = login("editor")
    page.goto(f"{console_url}/admin/movies/")
    page.get_by_role("button", name="Add Filter").click()
    page.locator("a.filter").first.click()
    page.wait_for_selector("#filter-list .filter-op, table.filters tr", timeout=5000)
    assert page.url.startswith(f"{console_url}/admin/movies/")  # no navigation to "#" or javascript:
    assert page.watch.csp == []
    shot(page, "23-catalogue-add-filter")
    clean(page)


def _contrast(page, selector: str) -> float:
    """WCAG contrast of the first ``selector``'s text colour against white."""
    return page.evaluate("""(sel) => {
      const rgb = getComputedStyle(document.querySelector(sel)).color.match(/\\d+/g).slice(0, 3).map(Number);
      const lin = rgb.map(c => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); });
      const l = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
      return 1.05 / (l + 0.05);
    }""", selector)


def test_catalogue_links_contrast_and_row_action_targets(login, console_url):
    page = login("editor")
    page.goto(f"{console_url}/admin/movies/")
    assert _contrast(page, ".admin-body td a:not(.btn)") >= 4.5
    widths = page.eval_on_selector_all(".list-buttons-column a, .list-buttons-column button",
                                       "els => els.map(e => Math.min(e.getBoundingClientRect().width, "
                                       "e.getBoundingClientRect().height))")
    assert widths and min(widths) >= 24
    clean(page)


def test_polling_pauses_while_the_tab_is_hidden(login, console_url):
    page = login("viewer")
    page.goto(f"{console_url}/events")
    page.wait_for_function("() => typeof htmx !== 'undefined'")
    sent = []
    page.on("request", lambda r: sent.append(r.url) if "/events" in r.url and r.resource_type == "xhr" else None)
    poll = """() => { const part = document.querySelector('[data-only-changes]');
                      return htmx.ajax('GET', location.pathname, {source: part, target: part}); }"""
    page.evaluate("() => { Object.defineProperty(document, 'hidden', {value: true, configurable: true}); }")
    page.evaluate(poll)
    assert sent == []  # a poll from a hidden tab is cancelled before it is sent
    page.evaluate("() => { Object.defineProperty(document, 'hidden', {value: false, configurable: true}); }")
    page.evaluate(poll)
    assert len(sent) == 1
    assert page.locator("time[title^='your time:']").count() >= 1 or page.locator("time").count() == 0
    clean(page)
