"""Request bodies of ``POST /api/events/<kind>`` → the event to publish (docs/architecture.md §4).

Validation reuses the kernel's validators, so the wording of a 400 is the same as in every
other API ("missing required field: movie_id").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from kernel import validation as v
from kernel.event_types import MOVIE_TOPIC, PAYMENT_TOPIC, USER_TOPIC

SOURCE = "events-api"


class EventRequest(NamedTuple):
    """A validated request: where it goes, under which key, and what the envelope says."""

    topic: str
    key: str
    type: str
    action: str
    payload: dict[str, Any]


def _optional(payload: dict[str, Any], name: str, value: Any) -> None:
    if value is not None:
        payload[name] = value


def _timestamp_text(data: dict[str, Any], name: str) -> str:
    """Validate an ISO 8601 timestamp but keep the client's spelling of it."""
    v.timestamp(data, name)
    return data[name].strip()


def movie_event(data: Any) -> EventRequest:
    """``{movie_id, title, action, user_id?, rating?, genres?, description?}``."""
    data = v.require_object(data)
    payload: dict[str, Any] = {
        "movie_id": v.integer(data, "movie_id", minimum=1),
        "title": v.text(data, "title"),
        "action": v.text(data, "action", max_length=50),
    }
    _optional(payload, "user_id", v.integer(data, "user_id", required=False, minimum=1))
    rating = v.number(data, "rating", required=False, minimum=0, maximum=10, places=1)
    _optional(payload, "rating", None if rating is None else float(rating))
    if data.get("genres") is not None:
        payload["genres"] = v.string_list(data, "genres")
    _optional(payload, "description", v.text(data, "description", required=False, max_length=5000,
                                              allow_empty=True))
    return EventRequest(MOVIE_TOPIC, str(payload["movie_id"]), "movie", payload["action"], payload)


def user_event(data: Any) -> EventRequest:
    """``{user_id, action, timestamp, username?, email?}``."""
    data = v.require_object(data)
    payload: dict[str, Any] = {
        "user_id": v.integer(data, "user_id", minimum=1),
        "action": v.text(data, "action", max_length=50),
        "timestamp": _timestamp_text(data, "timestamp"),
    }
    _optional(payload, "username", v.text(data, "username", required=False))
    _optional(payload, "email", v.text(data, "email", required=False))
    return EventRequest(USER_TOPIC, str(payload["user_id"]), "user", payload["action"], payload)


def payment_event(data: Any) -> EventRequest:
    """``{payment_id, user_id, amount, status, timestamp, method_type?}``; the action is the status."""
    data = v.require_object(data)
    payload: dict[str, Any] = {
        "payment_id": v.integer(data, "payment_id", minimum=1),
        "user_id": v.integer(data, "user_id", minimum=1),
        "amount": float(v.number(data, "amount", minimum=0, maximum=99_999_999.99)),
        "status": v.text(data, "status", max_length=50),
        "timestamp": _timestamp_text(data, "timestamp"),
    }
    _optional(payload, "method_type", v.text(data, "method_type", required=False, max_length=50))
    return EventRequest(PAYMENT_TOPIC, str(payload["payment_id"]), "payment", payload["status"], payload)


PARSERS: dict[str, Callable[[Any], EventRequest]] = {
    "movie": movie_event,
    "user": user_event,
    "payment": payment_event,
}
