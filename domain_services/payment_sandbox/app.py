"""The sandbox provider's HTTP API: a stand-in for Stripe or YooKassa in development and tests.

``POST /v1/checkouts`` (``Authorization: Bearer <PAYMENT_WEBHOOK_SECRET>``) accepts a
checkout ``{reference, payment_id, amount, currency, description, callback_url}``, "charges
the card" at once and calls back a signed ``checkout.completed`` — or ``checkout.failed``
when the description contains ``decline`` (a payment whose ``payment_method`` is
``sandbox-decline``), which lets tests and demos take the unhappy path.
``POST /v1/refunds`` (same body plus ``checkout_id``) refunds a succeeded checkout once and
calls back ``charge.refunded``. Both honour an ``Idempotency-Key`` header as Stripe does: a
repeated key gets the first answer and moves no money.
``GET /v1/checkouts/<id>`` answers the checkout's status (``succeeded``, ``failed``,
``refunded``), the refund requests received and each callback's delivery — what the
payments side's reconciliation asks.

Callbacks are retried on any non-2xx (``deliveries.py``). The checkouts live in this
process's memory, so the sandbox runs one server process; a restart forgets them.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify, request

from domain_services.payment_sandbox.deliveries import Deliverer, Delivery, parse_delays
from domain_services.payments.webhooks import load_or_create_secret
from kernel.app_factory import create_app as build
from kernel.errors import Conflict, InvalidInput, NotFound, Unauthorized
from kernel.http import json_body
from kernel.settings import Settings

DEFAULT_PORT = 8085
HEALTH_PATH = "/health"
DECLINE_MARKER = "decline"
MAX_KEY_LENGTH = 255


@dataclass
class SandboxCheckout:
    """A checkout the sandbox took: its fields, status, refund requests and callbacks."""

    checkout_id: str
    fields: dict[str, Any]
    status: str
    refund_requests: int = 0
    refund_id: str | None = None
    callbacks: list[Delivery] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        """The lookup answer."""
        return {"checkout_id": self.checkout_id, "status": self.status, "payment_id": self.fields["payment_id"],
                "reference": self.fields["reference"], "amount": self.fields["amount"],
                "currency": self.fields["currency"], "refund_requests": self.refund_requests,
                "refund_id": self.refund_id, "callbacks": [d.summary() for d in self.callbacks]}


class Ledger:
    """The sandbox's memory: checkouts by id and answers by idempotency key, behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.checkouts: dict[str, SandboxCheckout] = {}
        self.answers: dict[str, tuple[dict[str, Any], int]] = {}


def _checkout_fields(data: Any) -> dict[str, Any]:
    """The fields of a checkout request, checked; :class:`InvalidInput` otherwise."""
    if not isinstance(data, dict):
        raise InvalidInput("request body must be a JSON object")
    fields = {}
    for name in ("reference", "payment_id", "amount", "currency", "description", "callback_url"):
        if name not in data:
            raise InvalidInput(f"missing required field: {name}")
        fields[name] = data[name]
    if not str(fields["callback_url"]).startswith(("http://", "https://")):
        raise InvalidInput("field callback_url must be an http(s) URL")
    return fields


def _event(event_type: str, checkout: SandboxCheckout) -> dict[str, Any]:
    fields = checkout.fields
    return {
        "id": f"evt_{secrets.token_hex(12)}",
        "type": event_type,
        "created": int(time.time()),
        "data": {"checkout_id": checkout.checkout_id, "reference": fields["reference"],
                 "payment_id": fields["payment_id"], "amount": fields["amount"], "currency": fields["currency"]},
    }


def _idempotency_key(scope: str) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= MAX_KEY_LENGTH:
        raise InvalidInput(f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} characters")
    return f"{scope}:{key}" if key else None


def create_app(settings: Settings) -> Flask:
    """The sandbox provider app."""
    secret = load_or_create_secret(settings)
    deliverer = Deliverer(secret, parse_delays(settings.payment_sandbox_retry_delays))
    ledger = Ledger()
    app = build("payment-sandbox", [], settings=settings, health_paths=[HEALTH_PATH])

    def authorised() -> None:
        scheme, _, key = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(key.strip().encode(), secret.encode()):
            raise Unauthorized("invalid API key")

    def call_back(checkout: SandboxCheckout, event_type: str) -> None:
        checkout.callbacks.append(deliverer.send(checkout.fields["callback_url"], _event(event_type, checkout)))

    @app.post("/v1/checkouts")
    def create_checkout():
        authorised()
        fields = _checkout_fields(json_body())
        key = _idempotency_key("checkouts")
        with ledger.lock:
            if key in ledger.answers:
                answer, status = ledger.answers[key]
                return jsonify(answer), status
            checkout_id = f"cs_{secrets.token_hex(12)}"
            declined = DECLINE_MARKER in str(fields["description"])
            checkout = SandboxCheckout(checkout_id, fields, "failed" if declined else "succeeded")
            ledger.checkouts[checkout_id] = checkout
            call_back(checkout, "checkout.failed" if declined else "checkout.completed")
            answer = {"checkout_id": checkout_id, "status": "open",
                      "redirect_url": f"{settings.payment_provider_url.rstrip('/')}/pay/{checkout_id}"}
            if key:
                ledger.answers[key] = (answer, 201)
        return jsonify(answer), 201

    @app.post("/v1/refunds")
    def create_refund():
        authorised()
        data = json_body()
        _checkout_fields(data)
        checkout_id = data.get("checkout_id")
        if not isinstance(checkout_id, str) or not checkout_id:
            raise InvalidInput("missing required field: checkout_id")
        key = _idempotency_key("refunds")
        with ledger.lock:
            checkout = ledger.checkouts.get(checkout_id)
            if checkout is None:
                raise NotFound(f"no checkout {checkout_id}")
            checkout.refund_requests += 1
            if key in ledger.answers:
                answer, status = ledger.answers[key]
                return jsonify(answer), status
            if checkout.status != "succeeded":
                raise Conflict(f"checkout {checkout_id} is {checkout.status}; nothing to refund")
            checkout.status, checkout.refund_id = "refunded", f"re_{secrets.token_hex(12)}"
            call_back(checkout, "charge.refunded")
            answer = {"checkout_id": checkout_id, "refund_id": checkout.refund_id, "status": "refund_pending"}
            if key:
                ledger.answers[key] = (answer, 202)
        return jsonify(answer), 202

    @app.get("/v1/checkouts/<checkout_id>")
    def lookup_checkout(checkout_id: str):
        authorised()
        with ledger.lock:
            checkout = ledger.checkouts.get(checkout_id)
            if checkout is None:
                raise NotFound(f"no checkout {checkout_id}")
            return jsonify(checkout.view())

    return app
