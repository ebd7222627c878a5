"""Fixtures of the payment-provider suites: the sandbox provider, stripe-mock and payments services as
real processes, an in-process adapter of the sandbox, users, and a payment ready to be checked out."""

from __future__ import annotations

import subprocess
import uuid

import httpx
import pytest

from domain_services.payments import checkout
from domain_services.payments import services as payments
from domain_services.payments.plans import price_of
from domain_services.payments.sandbox_provider import SandboxProvider
from domain_services.users import services as users
from kernel.identity import Identity
from tests.support.processes import LOG_DIR, ROOT, GiveUp, RunningProcess, free_port, running, wait_until

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


STRIPE_KEY = "sk_test_cinemaabyss"  # stripe-mock accepts any test-mode key
STRIPE_WEBHOOK_SECRET = "whsec_cinemaabyss_test"


@pytest.fixture(scope="session")
def stripe_mock() -> str:
    """Stripe's official API mock on a free port (installed by ``scripts/install-stripe-mock.sh``); its URL."""
    result = subprocess.run([str(ROOT / "scripts" / "install-stripe-mock.sh")], capture_output=True, text=True,
                            timeout=900, check=False)
    assert result.returncode == 0, f"install-stripe-mock.sh failed:\n{result.stderr}"
    binary = result.stdout.strip().splitlines()[-1]
    port, tls_port = free_port(), free_port()  # it always serves HTTPS too; a port of its own, not 12112
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"stripe-mock-{port}.log"
    with log_path.open("ab") as log:
        popen = subprocess.Popen([binary, "-http-addr", f"127.0.0.1:{port}", "-https-addr", f"127.0.0.1:{tls_port}"],
                                 stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    proc = RunningProcess("stripe-mock", popen, port, log_path)

    def answering() -> bool:
        if popen.poll() is not None:
            raise GiveUp(f"stripe-mock exited with {popen.returncode}; log: {log_path}")
        return httpx.get(f"{proc.url}/v1/payment_intents", headers={"Authorization": f"Bearer {STRIPE_KEY}"},
                         timeout=1).status_code == 200

    try:
        wait_until(answering, timeout=30, interval=0.1, message="stripe-mock answering")
        yield proc.url
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def stripe_payments_service(stripe_mock):
    """A payments service process with ``PAYMENT_PROVIDER=stripe`` against :func:`stripe_mock`."""
    port = free_port()
    env = {"PAYMENT_PROVIDER": "stripe", "STRIPE_API_KEY": STRIPE_KEY, "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
           "STRIPE_API_BASE": stripe_mock}
    with running("payments-stripe", "domain_services.payments", port=port, env=env,
                 health_path="/api/payments/health") as proc:
        yield proc
