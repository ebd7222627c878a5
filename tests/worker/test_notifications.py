"""Webhooks end to end on real PostgreSQL and a real local HTTP receiver: plan moves and auto-rollbacks
are told once, signed; failures are retried with backoff, then given up; dead letters are told."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import psycopg
import pytest

from strangler import flags, notify, rollouts, webhooks
from tests.proxy.conftest import libpq_url
from tests.support.processes import running, wait_until
from tests.worker.conftest import private_redis_url, relay_env

DOMAIN = "users"
#: A Redis database of the notifier's own: relay tests elsewhere run workers of their own on theirs,
#: and a delivery task taken by a worker on another database would be lost.
NOTIFIER_REDIS_DB = 12


@pytest.fixture(scope="module")
def notifier(db_url, redis_url, kafka_brokers):
    """``python -m worker`` and ``python -m worker.beat`` on a broker database of their own."""
    env = {**relay_env(redis_url, kafka_brokers), "REDIS_URL": private_redis_url(redis_url, NOTIFIER_REDIS_DB)}
    with running("notify-worker", "worker", env=env, health_path=None), \
            running("notify-beat", "worker.beat", env=env, health_path=None):
        yield env


class Receiver:
    """A local HTTP server that records every POST and answers ``status``."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        self.script: list[int] = []  # statuses for the next requests, before falling back to ``status``
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.received.append(({k: v for k, v in self.headers.items()}, raw))
                self.send_response(outer.script.pop(0) if outer.script else outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def clean(db_url):
    """No endpoints, deliveries, cursors or users plan before and after."""
    def wipe():
        with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
            conn.execute("DELETE FROM webhook_endpoints")
            conn.execute("DELETE FROM notify_cursors")
            conn.execute("DELETE FROM rollout_plans WHERE domain = %s", [DOMAIN])
    wipe()
    yield
    wipe()
    flags.rollback(DOMAIN, "test", url=db_url)


@pytest.fixture
def http():
    with httpx.Client(timeout=5) as client:
        yield client


def _deliver_all(ids: list[int], http: httpx.Client, db_url: str) -> list[str]:
    return [webhooks.attempt(i, http, max_attempts=3, backoff_s=2, url=db_url).outcome for i in ids]


def test_plan_moves_and_auto_rollbacks_reach_the_receiver_once_and_signed(receiver, clean, http, db_url):
    endpoint, secret = webhooks.create({"name": "ops-room", "url": receiver.url, "format": "generic"}, "admin",
                                       url=db_url)
    assert webhooks.scan(url=db_url) == [], "the first scan starts at the newest audit row"
    rollouts.start(DOMAIN, "alice", steps="10,100", hold_seconds=60, reason="new users service", url=db_url)
    rollouts.abort(DOMAIN, "alice", url=db_url)
    ids = webhooks.scan(url=db_url)
    assert webhooks.scan(url=db_url) == [], "a second scan finds nothing new"
    assert _deliver_all(ids, http, db_url) == ["delivered"] * len(ids)
    kinds = [json.loads(raw)["event"] for _, raw in receiver.received]
    assert kinds == ["plan.start", "plan.abort"]
    headers, raw = receiver.received[0]
    assert notify.verify(secret, headers, raw, now=time.time())
    assert headers[notify.EVENT_HEADER] == "plan.start"
    assert "new users service" in json.loads(raw)["text"]
    assert webhooks.list_endpoints(url=db_url)[0]["last_delivery"].startswith("delivered 200")
    assert endpoint["id"] == webhooks.list_endpoints(url=db_url)[0]["id"]


def test_a_failing_receiver_is_retried_with_backoff_then_given_up(receiver, clean, http, db_url):
    webhooks.create({"name": "flaky", "url": receiver.url, "format": "slack"}, "admin", url=db_url)
    webhooks.scan(url=db_url)
    receiver.status = 500
    flags.set_flag(DOMAIN, {"mode": "gradual", "percent": 5}, "test", "setup", url=db_url)
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:  # what a gateway's auto-rollback writes
        conn.execute("INSERT INTO flag_audit (actor, action, domain, reason) VALUES "
                     "('gateway', 'flag.auto_rollback', %s, '5 consecutive failures')", [DOMAIN])
    [delivery] = webhooks.scan(url=db_url)
    first = webhooks.attempt(delivery, http, max_attempts=3, backoff_s=2, url=db_url)
    second = webhooks.attempt(delivery, http, max_attempts=3, backoff_s=2, url=db_url)
    third = webhooks.attempt(delivery, http, max_attempts=3, backoff_s=2, url=db_url)
    assert [(a.outcome, a.delay_s, a.status) for a in (first, second, third)] == [
        ("retry", 2, 500), ("retry", 4, 500), ("failed", 0, 500)]
    assert len(receiver.received) == 3
    assert json.loads(receiver.received[0][1])["text"] == f"{DOMAIN}: automatic rollback to the monolith"
    log = webhooks.recent_deliveries(url=db_url)[0]
    assert (log["state"], log["attempts"], log["last_error"]) == ("failed", 3, "HTTP 500")


def test_an_unreachable_receiver_is_a_retry_not_a_crash(clean, http, db_url):
    webhooks.create({"name": "gone", "url": "http://127.0.0.1:9/hook"}, "admin", url=db_url)
    result = webhooks.test_send(webhooks.list_endpoints(url=db_url)[0]["id"], "admin", http, url=db_url)
    assert result.outcome == "failed" and "ConnectError" in result.error


def test_endpoints_subscribe_to_kinds(receiver, clean, http, db_url):
    webhooks.create({"name": "rollbacks-only", "url": receiver.url, "events": "plan.rollback,auto_rollback"},
                    "admin", url=db_url)
    webhooks.scan(url=db_url)
    rollouts.start(DOMAIN, "alice", steps="10,100", hold_seconds=60, url=db_url)
    assert webhooks.scan(url=db_url) == [], "plan.start is not subscribed"


def test_new_dead_letters_are_told_once(receiver, clean, http, db_url):
    webhooks.create({"name": "dlq", "url": receiver.url, "format": "teams"}, "admin", url=db_url)
    assert webhooks.note_dead_letters({("payments-consumer", "payment-events"): 4}, url=db_url) == [], \
        "the first count is the baseline"
    ids = webhooks.note_dead_letters({("payments-consumer", "payment-events"): 6}, url=db_url)
    assert webhooks.note_dead_letters({("payments-consumer", "payment-events"): 6}, url=db_url) == []
    assert _deliver_all(ids, http, db_url) == ["delivered"]
    card = json.loads(receiver.received[0][1])
    assert card["@type"] == "MessageCard" and card["title"] == "2 new dead letter(s) on payment-events"


def test_test_send_delivers_at_once_and_is_audited(receiver, clean, http, db_url):
    endpoint, secret = webhooks.create({"name": "test-me", "url": receiver.url}, "admin", url=db_url)
    result = webhooks.test_send(endpoint["id"], "admin", http, url=db_url)
    assert (result.outcome, result.status) == ("delivered", 200)
    headers, raw = receiver.received[0]
    assert notify.verify(secret, headers, raw, now=time.time()) and json.loads(raw)["event"] == "test"
    with psycopg.connect(libpq_url(db_url)) as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM flag_audit WHERE action LIKE 'webhook.%%' "
                                              "ORDER BY id DESC LIMIT 2")]
    assert actions == ["webhook.test_sent", "webhook.created"]
    assert secret not in json.dumps(webhooks.list_endpoints(url=db_url)), "secrets never leave the store"


def test_the_worker_tells_a_receiver_and_retries_a_failed_send_with_backoff(notifier, receiver, clean, db_url):
    """Real worker and beat: the beat's scan finds the plan's start, Celery delivers it, a 500 is retried."""
    webhooks.create({"name": "live", "url": receiver.url}, "admin", url=db_url)

    def cursor_set() -> bool:
        with psycopg.connect(libpq_url(db_url)) as conn:
            return conn.execute("SELECT 1 FROM notify_cursors WHERE name = 'audit'").fetchone() is not None

    wait_until(cursor_set, timeout=30, interval=0.2, message="the beat's first scan")
    receiver.script = [500]
    started = time.monotonic()
    rollouts.start(DOMAIN, "alice", steps="10,100", hold_seconds=3600, reason="live notify", url=db_url)
    wait_until(lambda: len(receiver.received) >= 2, timeout=30, interval=0.1, message="a retried delivery")
    first, second = receiver.received[:2]
    assert json.loads(first[1])["event"] == json.loads(second[1])["event"] == "plan.start"
    assert first[0]["X-CinemaAbyss-Delivery"] == second[0]["X-CinemaAbyss-Delivery"], "the same delivery, retried"
    assert time.monotonic() - started >= 2, "after the first backoff (NOTIFY_BACKOFF_S = 2)"
    wait_until(lambda: webhooks.recent_deliveries(url=db_url)[0]["state"] == "delivered", timeout=10, interval=0.1)
    assert webhooks.recent_deliveries(url=db_url)[0]["attempts"] == 2
