"""YooKassa through its official SDK, against recorded YooKassa answers (``recorded/yookassa/``).

A small HTTP server replays the recorded answers, filling in the ids, amounts and metadata of
the request it answers and keeping which payments the "payer" has paid; the SDK talks to it
over real HTTP (``YOOKASSA_API_URL``), unmocked. The payments service runs with
``PAYMENT_PROVIDER=yookassa`` and takes the notifications.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from domain_services.payments import checkout, reconcile
from domain_services.payments.models import Subscription
from domain_services.payments.plans import CURRENCY
from domain_services.payments.yookassa_provider import YooKassaProvider
from kernel.db import read_session
from kernel.identity import Identity
from tests.payments.conftest import check_out, pending_payment
from tests.payments.test_settle import _audit, _react, _status
from tests.support.processes import free_port, running

RECORDED = Path(__file__).parent / "recorded" / "yookassa"
SHOP_ID, SECRET_KEY = "100500", "test_cinemaabyss"
ADMIN = Identity(user_id=1, role="admin")


def recorded(name: str) -> dict:
    return json.loads((RECORDED / f"{name}.json").read_text())


class RecordedYooKassa:
    """Replays the recorded answers at ``/v3``; ``paid``/``declined`` play the payer."""

    def __init__(self) -> None:
        self.payments: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.answers: dict[str, dict] = {}
        self.refund_requests = 0
        self.lock = threading.Lock()
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                key = f"{self.path}:{self.headers.get('Idempotence-Key')}"
                with replay.lock:
                    if self.path == "/v3/refunds":
                        replay.refund_requests += 1
                    if key not in replay.answers:
                        replay.answers[key] = replay.create(self.path, body)
                    self._answer(200, replay.answers[key])

            def do_GET(self):
                kind, _, object_id = self.path.removeprefix("/v3/").partition("/")
                with replay.lock:
                    found = (replay.payments if kind == "payments" else replay.refunds).get(object_id)
                    self._answer(200, replay.view(found)) if found else self._answer(404, recorded("not_found"))

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v3"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def create(self, path: str, body: dict) -> dict:
        if path == "/v3/payments":
            answer = recorded("payment_pending")
            answer.update(id=str(uuid.uuid4()), amount=body["amount"], description=body["description"],
                          metadata=body.get("metadata", {}))
            answer["confirmation"]["confirmation_url"] = f"https://yoomoney.ru/checkout/{answer['id']}"
            self.payments[answer["id"]] = {"status": "pending", "base": answer, "refunded": False}
            return answer
        refund = recorded("refund_succeeded")
        refund.update(id=str(uuid.uuid4()), payment_id=body["payment_id"], amount=body["amount"])
        self.payments[body["payment_id"]]["refunded"] = True
        self.refunds[refund["id"]] = {"status": "succeeded", "base": refund}
        return refund

    def view(self, state: dict) -> dict:
        base = state["base"]
        if "payment_id" in base:  # a refund
            return base
        answer = recorded(f"payment_{state['status']}")
        answer.update({k: base[k] for k in ("id", "amount", "description", "metadata")})
        if "refunded_amount" in answer:
            answer["refunded_amount"] = base["amount"] if state["refunded"] else {"value": "0.00",
                                                                                    "currency": CURRENCY}
        return answer

    def pay(self, payment_id: str, status: str = "succeeded") -> None:
        with self.lock:
            self.payments[payment_id]["status"] = status

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def yookassa():
    replay = RecordedYooKassa()
    yield replay
    replay.close()


@pytest.fixture(scope="module")
def provider(yookassa):
    return YooKassaProvider(SHOP_ID, SECRET_KEY, api_url=yookassa.url, return_url="http://127.0.0.1/")


@pytest.fixture(scope="module")
def yookassa_service(yookassa, db_url):
    port = free_port()
    env = {"PAYMENT_PROVIDER": "yookassa", "YOOKASSA_SHOP_ID": SHOP_ID, "YOOKASSA_SECRET_KEY": SECRET_KEY,
           "YOOKASSA_API_URL": yookassa.url}
    with running("payments-yookassa", "domain_services.payments", port=port, env=env,
                 health_path="/api/payments/health") as proc:
        yield f"{proc.url}/api/payments/webhook"


def notification(name: str, object_id: str, **fields) -> dict:
    note = recorded(name)
    note["object"].update(id=object_id, **fields)
    return note


def test_checkout_notification_period_and_one_refund(provider, yookassa, yookassa_service, user_id):
    payment_id = pending_payment(user_id, "premium")
    opened = check_out(provider, user_id, payment_id, "")
    yk_id = opened["checkout_id"]
    assert opened["redirect_url"].endswith(yk_id)
    assert yookassa.payments[yk_id]["base"]["metadata"]["payment_id"] == str(payment_id)

    # unsigned by design: a notification the API contradicts (not paid yet) changes nothing
    early = httpx.post(yookassa_service, json=notification("notification_payment_succeeded", yk_id))
    assert early.status_code == 400 and "contradicts" in early.json()["error"] and _status(payment_id) == "pending"

    yookassa.pay(yk_id)
    paid = httpx.post(yookassa_service, json=notification("notification_payment_succeeded", yk_id))
    assert paid.status_code == 200 and paid.json()["status"] == "completed"
    assert httpx.post(yookassa_service, json=notification("notification_payment_succeeded", yk_id)).status_code \
        == 400  # the same notification again: claimed once
    assert _react(payment_id) == "subscription.created"

    assert checkout.request_refund(payment_id, provider, "", actor=ADMIN)["refund"] == "requested"
    assert checkout.request_refund(payment_id, provider, "", actor=ADMIN)["refund"] == "already requested"
    assert yookassa.refund_requests == 1
    [refund_id] = [r for r, s in yookassa.refunds.items() if s["base"]["payment_id"] == yk_id]
    refunded = httpx.post(yookassa_service, json=notification("notification_refund_succeeded", refund_id,
                                                              payment_id=yk_id))
    assert refunded.status_code == 200 and _status(payment_id) == "refunded"
    with read_session() as session:
        period = session.scalars(select(Subscription).where(Subscription.payment_id == payment_id)).one()
        assert period.end_date - period.start_date < timedelta(minutes=1)
    assert _audit(payment_id) == [("yookassa-webhook", "completed"), ("yookassa-webhook", "refunded")]


def test_a_forged_notification_for_an_unknown_payment_is_refused(yookassa_service):
    answer = httpx.post(yookassa_service, json=notification("notification_payment_succeeded", str(uuid.uuid4())))
    assert answer.status_code == 400 and "knows no object" in answer.json()["error"]


def test_reconciliation_asks_yookassa(provider, yookassa, user_id):
    paid = pending_payment(user_id, "basic")
    yookassa.pay(check_out(provider, user_id, paid, "")["checkout_id"])
    declined = pending_payment(user_id, "family")
    yookassa.pay(check_out(provider, user_id, declined, "")["checkout_id"], "canceled")
    waiting = pending_payment(user_id, "premium")
    check_out(provider, user_id, waiting, "")

    reconcile.run(provider, older_than=timedelta(0))
    assert (_status(paid), _status(declined), _status(waiting)) == ("completed", "failed", "pending")
    assert provider.lookup(str(uuid.uuid4())).status == "unknown"

