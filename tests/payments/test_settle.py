"""Payments that always settle: callbacks retried by the provider, one refund per payment,
reconciliation of lost callbacks, the console's list of unsettled payments.

Everything runs against real processes: the sandbox provider and a payments service on free
ports; a small HTTP "gate" stands between them where a test needs the receiver to answer 429
(as the gateway did to callbacks under a slow-upload flood) or not at all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from domain_services.payment_sandbox.deliveries import parse_delays
from domain_services.payments import checkout, reconcile, settlement
from domain_services.payments.models import Payment, Subscription
from domain_services.payments.reactions import handle_payment_event
from kernel.db import read_session
from kernel.identity import Identity
from kernel.models import FlagAudit, OutboxEvent
from tests.payments.conftest import SECRET, check_out, pending_payment
from tests.support.processes import free_port, wait_until

ADMIN = Identity(user_id=1, role="admin")


# --- pure ---------------------------------------------------------------------------------------

def test_the_retry_schedule_is_parsed_and_checked():
    assert parse_delays("1, 5,30") == (1.0, 5.0, 30.0)
    assert sum(parse_delays("1,5,30,120,600,1800,3600,7200,14400")) > 7 * 3600  # the default: hours
    with pytest.raises(ValueError):
        parse_delays("1,-5")
    with pytest.raises(ValueError):
        parse_delays("1,soon")


# --- helpers ------------------------------------------------------------------------------------

class Gate:
    """An HTTP server in front of the webhook: ``decide(n)`` answers the n-th POST (1-based) with a
    status, or None to forward it to ``upstream`` and answer what the upstream answered."""

    def __init__(self, upstream: str | None, decide: Callable[[int], int | None]) -> None:
        self.upstream, self.decide = upstream, decide
        self.seen: list[tuple[float, int]] = []  # (arrival time, status answered), once answered
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                arrived = time.monotonic()
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = gate.decide(len(gate.seen) + 1)
                if status is None:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                    status = httpx.post(gate.upstream, content=body, headers=headers, timeout=10).status_code
                gate.seen.append((arrived, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/payments/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gates():
    made: list[Gate] = []

    def make(upstream: str | None, decide: Callable[[int], int | None]) -> Gate:
        made.append(Gate(upstream, decide))
        return made[-1]

    yield make
    for gate in made:
        gate.close()


def _webhook(service) -> str:
    return f"{service.url}/api/payments/webhook"


def _sandbox_view(sandbox, checkout_id: str) -> dict:
    """The sandbox's own view of a checkout (its status lookup endpoint)."""
    return httpx.get(f"{sandbox.url}/v1/checkouts/{checkout_id}", headers={"Authorization": f"Bearer {SECRET}"},
                     timeout=5).json()


def _status(payment_id: int) -> str:
    with read_session() as session:
        return session.get(Payment, payment_id).status


def _audit(payment_id: int) -> list[tuple[str, str]]:
    """``(actor, new status)`` of the settlement audit rows of a payment, oldest first."""
    with read_session() as session:
        rows = session.scalars(select(FlagAudit).where(FlagAudit.action == settlement.AUDIT_ACTION,
                                                       FlagAudit.after["payment_id"].as_integer() == payment_id)
                               .order_by(FlagAudit.id)).all()
        return [(r.actor, r.after["status"]) for r in rows]


def _react(payment_id: int) -> str:
    """Run the subscription reaction on the payment's ``payment.completed`` event (as the consumer would)."""
    with read_session() as session:
        payload = session.scalars(select(OutboxEvent.payload).where(
            OutboxEvent.event_type == "payment.completed", OutboxEvent.key == str(payment_id))).one()
    return handle_payment_event(payload)


# --- the provider retries callbacks -----------------------------------------------------------------

def test_a_callback_answered_429_is_retried_with_growing_delays_until_accepted(sandbox, provider, payments_service,
                                                                              user_id, gates):
    gate = gates(_webhook(payments_service), lambda n: 429 if n <= 2 else None)
    payment_id = pending_payment(user_id)
    opened = check_out(provider, user_id, payment_id, gate.url)

    wait_until(lambda: len(gate.seen) == 3, timeout=20, message="third attempt answered")
    assert [status for _, status in gate.seen] == [429, 429, 200] and _status(payment_id) == "completed"
    (t1, _), (t2, _), (t3, _) = gate.seen
    assert t2 - t1 >= 0.2 and t3 - t2 >= 0.4  # waited the schedule (0.2 s, then 0.4 s) before each retry
    [callback] = _sandbox_view(sandbox, opened["checkout_id"])["callbacks"]
    assert callback["attempts"] == 3 and callback["delivered"] is True
    assert _audit(payment_id) == [("sandbox-webhook", "completed")]


# --- one refund per payment -------------------------------------------------------------------------

def test_five_concurrent_refunds_send_one_provider_request_and_take_the_period_back(sandbox, provider,
                                                                                  payments_service, user_id):
    payment_id = pending_payment(user_id, "basic")
    opened = check_out(provider, user_id, payment_id, _webhook(payments_service))
    wait_until(lambda: _status(payment_id) == "completed", timeout=15, message="completed")
    assert _react(payment_id) == "subscription.created"

    answers, start = [], threading.Barrier(5)

    def refund():
        start.wait()
        answers.append(checkout.request_refund(payment_id, provider, _webhook(payments_service), actor=ADMIN))

    threads = [threading.Thread(target=refund) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(a["refund"] for a in answers) == ["already requested"] * 4 + ["requested"]

    wait_until(lambda: _status(payment_id) == "refunded", timeout=15, message="refund callback")
    seen = _sandbox_view(sandbox, opened["checkout_id"])
    assert seen["refund_requests"] == 1 and seen["status"] == "refunded"
    # the 30 days it bought are taken back: the period ends now (nothing of it was used)
    with read_session() as session:
        period = session.scalars(select(Subscription).where(Subscription.payment_id == payment_id)).one()
        assert period.end_date - period.start_date < timedelta(minutes=1)
    assert [status for _, status in _audit(payment_id)] == ["completed", "refunded"]


# --- reconciliation ----------------------------------------------------------------------------------

def test_a_payment_whose_callbacks_all_got_429_is_completed_by_reconciliation(provider, user_id, gates):
    flood = gates(None, lambda n: 429)  # the gateway refusing the provider, every time
    payment_id = pending_payment(user_id)
    check_out(provider, user_id, payment_id, flood.url)
    wait_until(lambda: len(flood.seen) >= 2, timeout=10, message="callbacks refused")
    assert _status(payment_id) == "pending"

    started = time.monotonic()
    done = reconcile.run(provider, older_than=timedelta(0))
    assert done.get("completed", 0) >= 1
    assert _status(payment_id) == "completed" and time.monotonic() - started < 60
    assert _audit(payment_id) == [("reconciler", "completed")]
    assert _react(payment_id) == "subscription.created"  # the same event the webhook would have written


def test_a_lost_callback_is_settled_only_after_the_threshold(provider, user_id):
    nobody = f"http://127.0.0.1:{free_port()}/api/payments/webhook"  # nothing listens: every attempt fails
    payment_id = pending_payment(user_id, "family")
    check_out(provider, user_id, payment_id, nobody)

    reconcile.run(provider, older_than=timedelta(minutes=5))
    assert _status(payment_id) == "pending"
    assert payment_id not in {i.payment_id for i in reconcile.unsettled(older_than=timedelta(minutes=5))}
    assert payment_id in {i.payment_id for i in reconcile.unsettled()}

    reconcile.run(provider, older_than=timedelta(0))
    assert _status(payment_id) == "completed"


def test_a_declined_checkout_whose_callback_was_lost_is_failed_by_reconciliation(provider, user_id):
    nobody = f"http://127.0.0.1:{free_port()}/api/payments/webhook"
    payment_id = pending_payment(user_id, "basic", method="sandbox-decline")
    check_out(provider, user_id, payment_id, nobody)
    reconcile.run(provider, older_than=timedelta(0))
    assert _status(payment_id) == "failed"


def test_a_lost_refund_callback_is_settled_by_reconciliation(provider, payments_service, user_id, gates):
    # the first callback (completion) gets through; every later one (the refund) is refused
    gate = gates(_webhook(payments_service), lambda n: None if n == 1 else 503)
    payment_id = pending_payment(user_id, "premium")
    check_out(provider, user_id, payment_id, gate.url)
    wait_until(lambda: _status(payment_id) == "completed", timeout=15, message="completed")
    _react(payment_id)
    checkout.request_refund(payment_id, provider, gate.url, actor=ADMIN)
    wait_until(lambda: len(gate.seen) >= 2, timeout=10, message="refund callback refused")
    assert _status(payment_id) == "completed"

    assert reconcile.run(provider, older_than=timedelta(0)).get("refunded", 0) >= 1
    assert _status(payment_id) == "refunded"
    assert _audit(payment_id)[-1] == ("reconciler", "refunded")
    with read_session() as session:
        period = session.scalars(select(Subscription).where(Subscription.payment_id == payment_id)).one()
        assert period.end_date - period.start_date < timedelta(minutes=1)


def test_a_late_webhook_after_reconciliation_changes_nothing(provider, payments_service, user_id, gates):
    # refused until reconciliation has run, then let through: the real event arrives late
    settled = threading.Event()
    gate = gates(_webhook(payments_service), lambda n: None if settled.is_set() else 429)
    payment_id = pending_payment(user_id)
    check_out(provider, user_id, payment_id, gate.url)
    wait_until(lambda: gate.seen, timeout=10, message="first callback refused")
    reconcile.run(provider, older_than=timedelta(0))
    settled.set()
    wait_until(lambda: gate.seen[-1][1] == 200, timeout=20, message="late webhook accepted")
    assert _status(payment_id) == "completed"
    assert _audit(payment_id) == [("reconciler", "completed")]  # the webhook found nothing to change


def test_only_one_reconciliation_runs_at_a_time(provider, db_url, user_id):
    payment_id = pending_payment(user_id)
    check_out(provider, user_id, payment_id, f"http://127.0.0.1:{free_port()}/")
    engine = create_engine(db_url)
    try:
        with engine.connect() as other:
            other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": reconcile.LOCK_ID})
            assert reconcile.run(provider, older_than=timedelta(0)) == {}
            assert _status(payment_id) == "pending"
            other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": reconcile.LOCK_ID})
    finally:
        engine.dispose()
    reconcile.run(provider, older_than=timedelta(0))
    assert _status(payment_id) == "completed"


def test_an_unreachable_provider_ends_the_pass_and_changes_nothing(provider, user_id):
    from domain_services.payments.sandbox_provider import SandboxProvider

    payment_id = pending_payment(user_id)
    check_out(provider, user_id, payment_id, f"http://127.0.0.1:{free_port()}/")
    gone = SandboxProvider(f"http://127.0.0.1:{free_port()}", SECRET, timeout=1)
    done = reconcile.run(gone, older_than=timedelta(0))
    assert done["unreachable"] == 1 and not set(done) & {"completed", "failed", "refunded"}
    assert _status(payment_id) == "pending"


def test_the_beat_schedule_runs_reconciliation_every_minute(db_url):
    from kernel.settings import load_settings
    from worker.app import RECONCILE_TASK, app, configure
    from worker.tasks import reconcile_payments

    configure(load_settings(database_url=db_url))
    entry = next(e for e in app.conf.beat_schedule.values() if e["task"] == RECONCILE_TASK)
    assert entry["schedule"] == 60.0
    assert app.tasks[RECONCILE_TASK].run == reconcile_payments.run


# --- the console --------------------------------------------------------------------------------------

def test_the_console_lists_unsettled_payments_with_the_provider_status(sandbox, provider, user_id, db_url):
    from control_plane import create_app
    from kernel.settings import load_settings
    from tests.control_plane.conftest import Console

    payment_id = pending_payment(user_id)
    opened = check_out(provider, user_id, payment_id, f"http://127.0.0.1:{free_port()}/")
    app = create_app(load_settings(secret_key="test-secret-key", payment_provider_url=sandbox.url,
                                   payment_webhook_secret=SECRET))
    app.testing = True
    console = Console(app)
    assert console.get("/payments/unsettled").status_code == 302  # login first
    _viewer(console)
    page = console.get("/payments/unsettled")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row = html[html.index(f'data-payment="{payment_id}"'):]
    row = row[:row.index("</tr>")]
    assert opened["checkout_id"] in row and "<strong>completed</strong>" in row and "succeeded" in row
    reconcile.run(provider, older_than=timedelta(0))
    assert f'data-payment="{payment_id}"' not in console.get("/payments/unsettled").get_data(as_text=True)


def _viewer(console) -> None:
    from control_plane import operators as service
    from tests.control_plane.conftest import PASSWORD

    name = "test-payments-viewer"
    existing = service.find_by_username(name)
    if existing is None:
        service.create_operator(name, "viewer", PASSWORD, actor="tests")
    else:
        service.update_operator(existing.id, {"role": "viewer", "active": True, "password": PASSWORD}, actor="tests")
    assert console.login(name).status_code == 302
