"""OpenAPI fragment of the payments domain: what ``payments/api.py`` serves."""

from __future__ import annotations

from domain_services.payments.models import PAYMENT_STATUSES, PLAN_TYPES
from domain_services.payments.services import MAX_AMOUNT
from domain_services.shared.openapi import MAX_ID, PAGE_PARAMS, body, errors, id_param, ok, ref

_USER_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
_DATE = {"type": "string", "description": "ISO 8601 date or date-time (naive = UTC), years 1900..9000",
         "example": "2026-01-01T00:00:00+00:00"}


def _list(name: str, schema: str, operation_id: str) -> dict:
    return {
        "summary": f"list {name}s, or one {name} with ?id=",
        "operationId": operation_id,
        "parameters": [
            id_param("id", "query", required=False, description=f"return this {name} only (an object)"),
            id_param("user_id", "query", required=False, description=f"only this user's {name}s"),
            *PAGE_PARAMS,
        ],
        "responses": {
            **ok(f"{name}s (a plain array), or one {name} when ?id= is given",
                 {"oneOf": [{"type": "array", "items": ref(schema)}, ref(schema)]}),
            **errors(400, 404),
        },
    }


FRAGMENT = {
    "components": {
        "schemas": {
            "Payment": {
                "type": "object",
                "required": ["id", "user_id", "amount", "timestamp"],
                "properties": {"id": {"type": "integer"}, "user_id": {"type": "integer"},
                               "amount": {"type": "number"}, "timestamp": {"type": "string", "format": "date-time"},
                               "status": {"type": "string", "enum": list(PAYMENT_STATUSES)}},
            },
            "NewPayment": {
                "type": "object",
                "required": ["user_id", "amount"],
                "properties": {
                    "user_id": _USER_ID,
                    "amount": {"type": "number", "minimum": 0.01, "maximum": MAX_AMOUNT},
                    "status": {"type": "string", "enum": list(PAYMENT_STATUSES), "default": "completed"},
                    "payment_method": {"type": "string", "minLength": 1, "maxLength": 50},
                    "plan_type": {"type": "string", "enum": list(PLAN_TYPES)},
                },
            },
            "StatusChange": {
                "type": "object",
                "required": ["status"],
                "description": "allowed: pending→completed|failed, completed→refunded (else 409)",
                "properties": {"status": {"type": "string", "enum": list(PAYMENT_STATUSES)}},
            },
            "Subscription": {
                "type": "object",
                "required": ["id", "user_id", "plan_type", "start_date", "end_date"],
                "properties": {"id": {"type": "integer"}, "user_id": {"type": "integer"},
                               "plan_type": {"type": "string"},
                               "start_date": {"type": "string", "format": "date-time"},
                               "end_date": {"type": "string", "format": "date-time"}},
            },
            "NewSubscription": {
                "type": "object",
                "required": ["user_id", "plan_type", "start_date", "end_date"],
                "description": "end_date must not precede start_date",
                "properties": {
                    "user_id": _USER_ID,
                    "plan_type": {"type": "string", "enum": list(PLAN_TYPES)},
                    "start_date": _DATE,
                    "end_date": _DATE,
                    "auto_renew": {"type": "boolean"},
                },
            },
        }
    },
    "paths": {
        "/api/payments": {
            "get": _list("payment", "Payment", "listPayments"),
            "post": {
                "summary": "record a payment (timestamp set by the server); unknown user → 400",
                "operationId": "createPayment",
                "requestBody": body(ref("NewPayment")),
                "responses": ok("created", ref("Payment"), 201),
            },
        },
        "/api/payments/{payment_id}/status": {
            "post": {
                "summary": "change a payment's status along the allowed transitions",
                "operationId": "changePaymentStatus",
                "parameters": [id_param("payment_id")],
                "requestBody": body(ref("StatusChange")),
                "responses": {**ok("changed (includes the new status)", ref("Payment")), **errors(404, 409)},
            }
        },
        "/api/subscriptions": {
            "get": _list("subscription", "Subscription", "listSubscriptions"),
            "post": {
                "summary": "create a subscription; unknown user → 400",
                "operationId": "createSubscription",
                "requestBody": body(ref("NewSubscription")),
                "responses": ok("created", ref("Subscription"), 201),
            },
        },
    },
}
