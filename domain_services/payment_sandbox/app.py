"""The sandbox provider's HTTP API: a stand-in for Stripe or YooKassa in development and tests.

``POST /v1/checkouts`` (``Authorization: Bearer <PAYMENT_WEBHOOK_SECRET>``) accepts a
checkout ``{reference, payment_id, amount, currency, description, callback_url}`` and
answers at once; a moment later it "charges the card" and posts a signed
``checkout.completed`` callback to ``callback_url`` — or ``checkout.failed`` when the
description contains ``decline`` (a payment whose ``payment_method`` is ``sandbox-decline``),
which lets tests and demos take the unhappy path.
``POST /v1/refunds`` (same body plus ``checkout_id``) answers with a ``charge.refunded``
callback. Callbacks are signed like Stripe's (``payments/webhooks.py``) and retried with
back-off until the receiver answers 2xx or a 4xx (a 4xx is a verdict, not an outage).

It keeps no state: everything a callback needs travels in the request.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
import time
from typing import Any

import httpx
from flask import Flask, jsonify, request

from domain_services.payments.webhooks import SIGNATURE_HEADER, load_or_create_secret, signature_header
from kernel.app_factory import create_app as build
from kernel.errors import InvalidInput, Unauthorized
from kernel.http import json_body
from kernel.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_PORT = 8085
HEALTH_PATH = "/health"
DECLINE_MARKER = "decline"
#: Delay before the first callback (a real provider charges the card first) and between retries.
FIRST_DELAY = 0.05
RETRY_DELAYS = (0.5, 1, 2, 4, 8)


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


def deliver(url: str, event: dict[str, Any], secret: str, *, delays: tuple[float, ...] = RETRY_DELAYS) -> int | None:
    """Post ``event`` signed to ``url``, retrying on 5xx and connection errors; the final status."""
    body = json.dumps(event, separators=(",", ":")).encode()
    status = None
    for attempt, delay in enumerate((FIRST_DELAY, *delays)):
        time.sleep(delay)  # pacing between deliveries, as a provider's retry schedule
        signed = signature_header(secret, body, int(time.time()))  # signed per attempt, like Stripe
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signed}
        try:
            status = httpx.post(url, content=body, headers=headers, timeout=10).status_code
        except httpx.HTTPError as exc:
            log.warning("callback %s to %s failed (attempt %d): %s", event["id"], url, attempt + 1, exc)
            continue
        if status < 500:
            log.info("callback %s (%s) to %s: %s", event["id"], event["type"], url, status)
            return status
    log.error("callback %s to %s given up after %d attempts (last status %s)", event["id"], url, attempt + 1, status)
    return status


def _event(event_type: str, fields: dict[str, Any], checkout_id: str) -> dict[str, Any]:
    return {
        "id": f"evt_{secrets.token_hex(12)}",
        "type": event_type,
        "created": int(time.time()),
        "data": {"checkout_id": checkout_id, "reference": fields["reference"], "payment_id": fields["payment_id"],
                 "amount": fields["amount"], "currency": fields["currency"]},
    }


def create_app(settings: Settings) -> Flask:
    """The sandbox provider app."""
    secret = load_or_create_secret(settings)
    app = build("payment-sandbox", [], settings=settings, health_paths=[HEALTH_PATH])

    def authorised() -> None:
        scheme, _, key = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(key.strip().encode(), secret.encode()):
            raise Unauthorized("invalid API key")

    def send_later(event: dict[str, Any], url: str) -> None:
        threading.Thread(target=deliver, args=(url, event, secret), name=f"callback-{event['id']}",
                         daemon=True).start()

    @app.post("/v1/checkouts")
    def create_checkout():
        authorised()
        fields = _checkout_fields(json_body())
        checkout_id = f"cs_{secrets.token_hex(12)}"
        declined = DECLINE_MARKER in str(fields["description"])
        send_later(_event("checkout.failed" if declined else "checkout.completed", fields, checkout_id),
                   fields["callback_url"])
        return jsonify({"checkout_id": checkout_id, "status": "open",
                        "redirect_url": f"{settings.payment_provider_url.rstrip('/')}/pay/{checkout_id}"}), 201

    @app.post("/v1/refunds")
    def create_refund():
        authorised()
        data = json_body()
        fields = _checkout_fields(data)
        checkout_id = data.get("checkout_id")
        if not isinstance(checkout_id, str) or not checkout_id:
            raise InvalidInput("missing required field: checkout_id")
        send_later(_event("charge.refunded", fields, checkout_id), fields["callback_url"])
        return jsonify({"checkout_id": checkout_id, "status": "refund_pending"}), 202

    return app
