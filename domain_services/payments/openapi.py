"""OpenAPI fragment of the payments domain: what ``payments/api.py`` serves."""

from __future__ import annotations

from domain_services.payments.api import WEBHOOK_PATH
from domain_services.payments.models import PAYMENT_STATUSES, PLAN_TYPES
from domain_services.payments.plans import PLAN_PRICES
from domain_services.payments.services import MAX_AMOUNT
from domain_services.payments.webhooks import SIGNATURE_HEADER
from kernel.openapi import MAX_ID, PAGE_PARAMS, body, errors, id_param, ok, ref

_USER_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
_PRICES = ", ".join(f"{plan} {price}" for plan, price in PLAN_PRICES.items())
_DATE = {"type": "string", "description": "ISO 8601 date or date-time (naive = UTC), years 1900..9000",
         "example": "2026-01-01T00:00:00+00:00"}


def _list(name: str, schema: str, operation_id: str) -> dict:
    return {
        "summary": f"list {name}s, or one {name} with ?id= (a user: their own only; admin/service: anyone's)",
        "operationId": operation_id,
        "parameters": [
            id_param("id", "query", required=False, description=f"return this {name} only (an object)"),
            id_param("user_id", "query", required=False, description=f"only this user's {name}s"),
            *PAGE_PARAMS,
        ],
        "responses": {
            **ok(f"{name}s (a plain array), or one {name} when ?id= is given",
                 {"oneOf": [{"type": "array", "items": ref(schema)}, ref(schema)]}),
            **errors(400, 401, 403, 404),
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
                "required": ["amount"],
                "description": f"user_id defaults to the caller (admin/service must name it); with a plan_type "
                               f"the amount must be the plan's price ({_PRICES})",
                "properties": {
                    "user_id": _USER_ID,
                    "amount": {"type": "number", "minimum": 0.01, "maximum": MAX_AMOUNT},
                    "status": {"type": "string", "enum": ["pending"], "default": "pending",
                               "description": "a payment always starts pending"},
                    "payment_method": {"type": "string", "minLength": 1, "maxLength": 50},
                    "plan_type": {"type": "string", "enum": list(PLAN_TYPES)},
                },
            },
            "StatusChange": {
                "type": "object",
                "required": ["status"],
                "description": "allowed: pending→completed|failed, completed→refunded (else 409); "
                               "roles admin/service only",
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
            "Checkout": {
                "type": "object",
                "required": ["payment_id", "status", "checkout_id"],
                "properties": {"payment_id": {"type": "integer"}, "status": {"type": "string"},
                               "checkout_id": {"type": "string"},
                               "redirect_url": {"type": "string", "nullable": True}},
            },
            "ProviderEvent": {
                "type": "object",
                "required": ["id", "type", "data"],
                "description": f"signed: header {SIGNATURE_HEADER}: t=<unix>,v1=<hex HMAC-SHA256 of "
                               f"'<t>.<body>'>",
                "properties": {
                    "id": {"type": "string"},
                    "type": {"type": "string", "enum": ["checkout.completed", "checkout.failed", "charge.refunded"]},
                    "data": {"type": "object", "required": ["reference", "payment_id", "amount"],
                             "properties": {"reference": {"type": "string"}, "payment_id": {"type": "integer"},
                                            "amount": {"type": "string"}, "checkout_id": {"type": "string"}}},
                },
            },
            "SubscriptionChange": {
                "type": "object",
                "description": "the owner may change auto_renew only; admin/service also plan and period",
                "properties": {"plan_type": {"type": "string", "enum": list(PLAN_TYPES)}, "start_date": _DATE,
                               "end_date": _DATE, "auto_renew": {"type": "boolean"}},
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
                "summary": "record a pending payment (own, or anyone's for admin/service); unknown user → 400",
                "operationId": "createPayment",
                "requestBody": body(ref("NewPayment")),
                "responses": {**ok("created", ref("Payment"), 201), **errors(401, 403)},
            },
        },
        "/api/payments/{payment_id}/checkout": {
            "post": {
                "summary": "pay a pending payment through the payment provider; the provider's signed "
                           "callback completes it",
                "operationId": "startCheckout",
                "parameters": [id_param("payment_id")],
                "responses": {**ok("checkout opened", ref("Checkout"), 201), **errors(401, 403, 404, 409, 502)},
            }
        },
        "/api/payments/{payment_id}/refund": {
            "post": {
                "summary": "ask the provider to refund a completed payment (admin/service); its callback "
                           "marks it refunded",
                "operationId": "requestRefund",
                "parameters": [id_param("payment_id")],
                "responses": {"202": {"description": "refund requested"}, **errors(401, 403, 404, 409, 502)},
            }
        },
        WEBHOOK_PATH: {
            "post": {
                "summary": "payment provider callback (signature-authenticated; forged/stale/replayed → 4xx)",
                "operationId": "providerCallback",
                "parameters": [{"name": SIGNATURE_HEADER, "in": "header", "required": True,
                                "schema": {"type": "string"}}],
                "requestBody": body(ref("ProviderEvent")),
                "responses": {**ok("applied", ref("Payment")), **errors(401)},
            }
        },
        "/api/payments/{payment_id}/status": {
            "post": {
                "summary": "change a payment's status along the allowed transitions",
                "operationId": "changePaymentStatus",
                "parameters": [id_param("payment_id")],
                "requestBody": body(ref("StatusChange")),
                "responses": {**ok("changed (includes the new status)", ref("Payment")),
                              **errors(401, 403, 404, 409)},
            }
        },
        "/api/subscriptions": {
            "get": _list("subscription", "Subscription", "listSubscriptions"),
            "post": {
                "summary": "create a subscription (admin/service only; users get one by paying); "
                           "unknown user → 400",
                "operationId": "createSubscription",
                "requestBody": body(ref("NewSubscription")),
                "responses": {**ok("created", ref("Subscription"), 201), **errors(401, 403)},
            },
        },
        "/api/subscriptions/{subscription_id}": {
            "patch": {
                "summary": "change a subscription (owner: auto_renew; admin/service: everything)",
                "operationId": "updateSubscription",
                "parameters": [id_param("subscription_id")],
                "requestBody": body(ref("SubscriptionChange")),
                "responses": {**ok("changed", ref("Subscription")), **errors(401, 403, 404)},
            }
        },
    },
}
