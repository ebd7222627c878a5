"""Payments completed by the provider: plan prices, pending payments, signed callbacks, the reaction.

Pure decisions (signature check, status transitions) are unit tests; the flow runs against
real processes: the sandbox provider and the payments service on free ports, calling each
other over HTTP, on the real test database.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import insert, select

from domain_services.payments import reactions, settlement, webhooks
from domain_services.payments import services as payments
from domain_services.payments.models import Payment, PaymentCheckout, ProviderEvent, Subscription
from domain_services.payments.plans import PLAN_PRICES
from kernel.db import read_session, unit_of_work
from kernel.models import OutboxEvent
from tests.domain_services.conftest import unique
from tests.support.processes import free_port, running, wait_until

SECRET = "test-secret-" + "x" * 20
ADMIN = {"X-User-Id": "1", "X-User-Role": "admin"}


# --- pure decisions -----------------------------------------------------------------------------

def test_a_correct_signature_within_the_window_is_accepted():
    body, now = b'{"id":"evt_1"}', 1_800_000_000
    header = webhooks.signature_header(SECRET, body, now - 299)
    assert webhooks.verify(header, body, SECRET, now=now, tolerance=300) == now - 299


@pytest.mark.parametrize(("header", "body", "status"), [
    (None, b"{}", 401),
    ("", b"{}", 401),
    ("t=abc,v1=00", b"{}", 401),
    ("v1=00", b"{}", 401),
    ("t=1800000000", b"{}", 401),
    (webhooks.signature_header("another-secret", b"{}", 1_800_000_000), b"{}", 401),  # forged
    (webhooks.signature_header(SECRET, b"{}", 1_800_000_000), b'{"x":1}', 401),  # tampered body
    (webhooks.signature_header(SECRET, b"{}", 1_800_000_000 - 301), b"{}", 400),  # stale
    (webhooks.signature_header(SECRET, b"{}", 1_800_000_000 + 301), b"{}", 400),  # from the future
])
def test_unsigned_forged_tampered_and_stale_callbacks_are_rejected(header, body, status):
    with pytest.raises(webhooks.WebhookRejected) as refused:
        webhooks.verify(header, body, SECRET, now=1_800_000_000, tolerance=300)
    assert refused.value.status == status


@pytest.mark.parametrize(("outcome", "current", "paid", "expected"), [
    ("completed", "pending", Decimal("9.99"), "completed"),
    ("completed", "pending", Decimal("1.00"), "failed"),  # underpaid: never completes
    ("completed", "pending", None, "failed"),
    ("completed", "completed", Decimal("9.99"), None),
    ("failed", "pending", None, "failed"),
    ("refunded", "completed", Decimal("9.99"), "refunded"),
    ("refunded", "pending", Decimal("9.99"), None),
    ("failed", "refunded", None, None),
    (None, "pending", None, None),  # an event type the domain does not act on
])
def test_settlement_status_decisions(outcome, current, paid, expected):
    assert settlement.next_status(outcome, current, paid, Decimal("9.99")) == expected


# --- creation rules (both deployments) ----------------------------------------------------------

def _as(user: dict) -> dict[str, str]:
    return {"X-User-Id": str(user["id"]), "X-User-Role": "user"}


def _status(payment_id: int) -> str:
    with read_session() as session:
        return session.get(Payment, payment_id).status


@pytest.mark.parametrize(("plan", "amount"), [("basic", 1.0), ("premium", 9.99), ("family", 29.98)])
def test_a_plan_payment_must_be_for_the_plan_price(payments_api, user, plan, amount):
    response = payments_api.post("/api/payments", json={"amount": amount, "plan_type": plan}, headers=_as(user))
    assert response.status_code == 400 and "price" in response.json["error"]


def test_a_payment_starts_pending_and_cannot_be_created_completed(payments_api, user):
    made = payments_api.post("/api/payments", json={"amount": 19.99, "plan_type": "premium"}, headers=_as(user))
    assert made.status_code == 201 and _status(made.json["id"]) == "pending"
    forced = payments_api.post("/api/payments", json={"amount": 19.99, "plan_type": "premium", "status": "completed"},
                               headers=_as(user))
    assert forced.status_code == 400 and "pending" in forced.json["error"]
    cheat = payments_api.post(f"/api/payments/{made.json['id']}/status", json={"status": "completed"},
                              headers=_as(user))
    assert cheat.status_code == 403 and _status(made.json["id"]) == "pending"


# --- the reaction trusts the payments table, not the event ----------------------------------------

def _completed_event(payment_id: int) -> dict:
    with read_session() as session:
        return session.scalars(select(OutboxEvent.payload).where(
            OutboxEvent.event_type == "payment.completed", OutboxEvent.key == str(payment_id))).one()


def _subscriptions(user_id: int) -> int:
    with read_session() as session:
        return len(session.scalars(select(Subscription.id).where(Subscription.user_id == user_id)).all())


def _envelope(payment_id: int, user_id: int, plan: str = "premium") -> dict:
    return {"id": str(uuid.uuid4()), "type": "payment", "action": "completed",
            "payload": {"payment_id": payment_id, "user_id": user_id, "amount": 19.99, "status": "completed",
                        "plan_type": plan}}


def test_a_forged_completed_event_for_a_pending_payment_changes_nothing(user):
    payment = payments.create_payment({"user_id": user["id"], "amount": 19.99, "plan_type": "premium"})
    assert reactions.handle_payment_event(_envelope(payment["id"], user["id"])) == "unpaid"
    assert reactions.handle_payment_event(_envelope(2_000_000_000, user["id"])) == "unpaid"  # no such payment
    assert _subscriptions(user["id"]) == 0
    # the refusal claimed nothing: once really completed, the payment still counts
    payments.change_status(payment["id"], "completed")
    assert reactions.handle_payment_event(_completed_event(payment["id"])) == "subscription.created"


def test_a_completed_payment_below_the_plan_price_does_not_extend(user):
    with unit_of_work() as uow:  # a legacy row: completed at creation, for a fraction of the price
        payment_id = uow.session.execute(insert(Payment).values(
            user_id=user["id"], amount=Decimal("1.00"), status="completed", plan_type="family",
            transaction_id=str(uuid.uuid4())).returning(Payment.id)).scalar_one()
    assert reactions.handle_payment_event(_envelope(payment_id, user["id"], "family")) == "unpaid"
    assert _subscriptions(user["id"]) == 0


def test_an_event_naming_another_user_does_not_extend_theirs(user, apps):
    name = unique("thief")
    thief = apps["users"].test_client().post("/api/users", json={"username": name, "email": f"{name}@x.io"},
                                                  headers=ADMIN).json
    payment = payments.create_payment({"user_id": user["id"], "amount": 9.99, "plan_type": "basic"})
    payments.change_status(payment["id"], "completed")
    assert reactions.handle_payment_event(_envelope(payment["id"], thief["id"], "basic")) == "unpaid"
    assert _subscriptions(thief["id"]) == 0


# --- the whole loop with the sandbox provider process ---------------------------------------------

@pytest.fixture(scope="module")
def provider_stack(db_url):
    """The sandbox provider and a payments service calling each other, sharing :data:`SECRET`."""
    sandbox_port, payments_port = free_port(), free_port()
    payments_url = f"http://127.0.0.1:{payments_port}"
    env = {"PAYMENT_WEBHOOK_SECRET": SECRET, "PAYMENT_PROVIDER_URL": f"http://127.0.0.1:{sandbox_port}",
           "PAYMENT_CALLBACK_URL": f"{payments_url}/api/payments/webhook"}
    with running("payment-sandbox", "domain_services.payment_sandbox", port=sandbox_port, env=env), \
            running("payments", "domain_services.payments", port=payments_port, env=env,
                    health_path="/api/payments/health") as service, \
            httpx.Client(base_url=payments_url, timeout=10) as client:
        client.log_path = service.log_path  # where the service logs refused callbacks
        yield client


def _pending(client: httpx.Client, user: dict, plan: str = "premium", method: str = "card") -> int:
    made = client.post("/api/payments", json={"amount": float(PLAN_PRICES[plan]), "plan_type": plan,
                                              "payment_method": method}, headers=_as(user))
    assert made.status_code == 201, made.text
    return made.json()["id"]


def _signed_post(client: httpx.Client, event: dict, *, secret: str = SECRET, at: int | None = None):
    body = json.dumps(event).encode()
    header = webhooks.signature_header(secret, body, int(time.time()) if at is None else at)
    return client.post("/api/payments/webhook", content=body,
                       headers={"Content-Type": "application/json", webhooks.SIGNATURE_HEADER: header})


def _provider_checkout_id(payment_id: int) -> str | None:
    with read_session() as session:
        return session.scalars(select(PaymentCheckout.provider_checkout_id)
                               .where(PaymentCheckout.payment_id == payment_id)).one()


def test_checkout_completes_by_signed_callback_and_the_reaction_extends_exactly_once(provider_stack, user):
    payment_id = _pending(provider_stack, user)
    opened = provider_stack.post(f"/api/payments/{payment_id}/checkout", headers=_as(user))
    assert opened.status_code == 201 and opened.json()["checkout_id"].startswith("cs_")
    wait_until(lambda: _status(payment_id) == "completed", timeout=15, message="provider callback completes it")
    assert provider_stack.post(f"/api/payments/{payment_id}/checkout", headers=_as(user)).status_code == 409

    event = _completed_event(payment_id)
    assert reactions.handle_payment_event(event) == "subscription.created"
    assert reactions.handle_payment_event(event) == "duplicate"
    assert reactions.handle_payment_event({**event, "id": str(uuid.uuid4())}) == "duplicate"  # same payment
    assert _subscriptions(user["id"]) == 1


def test_a_declined_checkout_fails_the_payment(provider_stack, user):
    payment_id = _pending(provider_stack, user, "basic", method="sandbox-decline")
    assert provider_stack.post(f"/api/payments/{payment_id}/checkout", headers=_as(user)).status_code == 201
    wait_until(lambda: _status(payment_id) == "failed", timeout=15, message="declined callback fails it")


def test_only_the_owner_checks_out(provider_stack, user):
    payment_id = _pending(provider_stack, user)
    assert provider_stack.post(f"/api/payments/{payment_id}/checkout").status_code == 401
    other = {"X-User-Id": str(user["id"] + 100_000), "X-User-Role": "user"}
    assert provider_stack.post(f"/api/payments/{payment_id}/checkout", headers=other).status_code == 403


def _own_checkout(payment_id: int) -> str:
    """A checkout reference for ``payment_id`` the provider never heard of (no automatic callback)."""
    reference = secrets.token_hex(16)
    with unit_of_work() as uow:
        uow.session.execute(insert(PaymentCheckout).values(reference=reference, payment_id=payment_id,
                                                           provider="sandbox"))
    return reference


def _event(event_type: str, reference: str, payment_id: int, amount: str, event_id: str | None = None) -> dict:
    return {"id": event_id or f"evt_{secrets.token_hex(8)}", "type": event_type,
            "data": {"reference": reference, "payment_id": payment_id, "amount": amount, "checkout_id": "cs_x"}}


def test_forged_stale_and_replayed_callbacks_change_nothing(provider_stack, user):
    payment_id = _pending(provider_stack, user)
    reference = _own_checkout(payment_id)
    good = _event("checkout.completed", reference, payment_id, "19.99")

    forged = _signed_post(provider_stack, good, secret="not-the-secret")
    assert forged.status_code == 401 and forged.json() == {"error": "signature does not match"}
    unsigned = provider_stack.post("/api/payments/webhook", json=good)
    assert unsigned.status_code == 401
    stale = _signed_post(provider_stack, good, at=int(time.time()) - 301)
    assert stale.status_code == 400 and "tolerance" in stale.json()["error"]
    assert _status(payment_id) == "pending"

    accepted = _signed_post(provider_stack, good)
    assert accepted.status_code == 200 and accepted.json()["status"] == "completed"
    replayed = _signed_post(provider_stack, good)  # freshly signed, same event id
    assert replayed.status_code == 400 and "replay" in replayed.json()["error"]
    refund_as_replay = _signed_post(provider_stack, _event("charge.refunded", reference, payment_id, "19.99",
                                                           event_id=good["id"]))
    assert refund_as_replay.status_code == 400 and _status(payment_id) == "completed"
    with read_session() as session:
        assert session.scalars(select(ProviderEvent.event_id).where(ProviderEvent.payment_id == payment_id)).all() \
            == [good["id"]]
    wait_until(lambda: provider_stack.log_path.read_text().count(f"event {good['id']} was already processed") >= 2,
               timeout=5, message="refused replays logged")
    assert "provider callback refused (401): signature does not match" in provider_stack.log_path.read_text()


def test_an_underpaid_callback_fails_the_payment(provider_stack, user):
    payment_id = _pending(provider_stack, user, "family")
    reference = _own_checkout(payment_id)
    answer = _signed_post(provider_stack, _event("checkout.completed", reference, payment_id, "0.01"))
    assert answer.status_code == 200 and _status(payment_id) == "failed"


def test_a_callback_for_an_unknown_checkout_is_refused(provider_stack, user):
    payment_id = _pending(provider_stack, user)
    answer = _signed_post(provider_stack, _event("checkout.completed", "no-such-reference", payment_id, "19.99"))
    assert answer.status_code == 400 and _status(payment_id) == "pending"


def test_an_admin_refund_goes_through_the_provider(provider_stack, user):
    payment_id = _pending(provider_stack, user, "basic")
    provider_stack.post(f"/api/payments/{payment_id}/checkout", headers=_as(user))
    wait_until(lambda: _status(payment_id) == "completed", timeout=15, message="completed")
    assert provider_stack.post(f"/api/payments/{payment_id}/refund", headers=_as(user)).status_code == 403
    asked = provider_stack.post(f"/api/payments/{payment_id}/refund", headers=ADMIN)
    assert asked.status_code == 202
    wait_until(lambda: _status(payment_id) == "refunded", timeout=15, message="refund callback")
    assert _provider_checkout_id(payment_id).startswith("cs_")
