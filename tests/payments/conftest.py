"""Fixtures of the payment-provider suites: the sandbox provider and the payments service as real
processes, an in-process adapter of the sandbox, users, and a payment ready to be checked out."""

from __future__ import annotations

import uuid

import pytest

from domain_services.payments import checkout
from domain_services.payments import services as payments
from domain_services.payments.plans import price_of
from domain_services.payments.sandbox_provider import SandboxProvider
from domain_services.users import services as users
from kernel.identity import Identity
from tests.support.processes import free_port, running

SECRET = "payments-suite-secret-" + "y" * 16
#: Fast retries so a test sees several attempts within seconds (production: hours).
RETRY_DELAYS = "0.2,0.4,0.8,1.6,3.2"


@pytest.fixture(scope="module")
def sandbox(db_url):
    """The sandbox provider process (fast retry schedule) sharing :data:`SECRET`."""
    port = free_port()
    env = {"PAYMENT_WEBHOOK_SECRET": SECRET, "PAYMENT_PROVIDER_URL": f"http://127.0.0.1:{port}",
           "PAYMENT_SANDBOX_RETRY_DELAYS": RETRY_DELAYS}
    with running("payment-sandbox", "domain_services.payment_sandbox", port=port, env=env) as proc:
        yield proc


@pytest.fixture(scope="module")
def provider(sandbox):
    """This test process's adapter of the sandbox (what the payments service and the worker build)."""
    adapter = SandboxProvider(sandbox.url, SECRET)
    yield adapter
    adapter.close()


@pytest.fixture(scope="module")
def payments_service(sandbox):
    """A payments service process talking to :func:`sandbox`."""
    port = free_port()
    env = {"PAYMENT_WEBHOOK_SECRET": SECRET, "PAYMENT_PROVIDER_URL": sandbox.url,
           "PAYMENT_CALLBACK_URL": f"http://127.0.0.1:{port}/api/payments/webhook"}
    with running("payments", "domain_services.payments", port=port, env=env,
                 health_path="/api/payments/health") as proc:
        yield proc


@pytest.fixture
def user_id(db_url) -> int:
    """A new user."""
    name = f"pay{uuid.uuid4().hex[:10]}"
    return users.create_user({"username": name, "email": f"{name}@example.com"})["id"]


def pending_payment(user_id: int, plan: str = "premium", method: str = "card") -> int:
    """A pending plan payment at the plan's price."""
    return payments.create_payment({"user_id": user_id, "amount": float(price_of(plan)), "plan_type": plan,
                                    "payment_method": method})["id"]


def check_out(provider, user_id: int, payment_id: int, callback_url: str) -> dict:
    """Open the payment's checkout as its owner, the provider calling back ``callback_url``."""
    return checkout.start_checkout(payment_id, provider, callback_url, actor=Identity(user_id=user_id, role="user"))
