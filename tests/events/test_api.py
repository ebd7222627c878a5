"""The events API against a real broker: contract shapes, the envelope on the wire, errors."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from tests.events.kafka_read import read_at

ENVELOPE_KEYS = {"id", "type", "action", "timestamp", "source", "payload"}

BODIES = {
    "movie": ({"movie_id": 7, "title": "The Godfather", "action": "viewed", "user_id": 2, "rating": 9.2,
               "genres": ["Crime", "Drama"], "description": "d"}, "movie-events", "7", "viewed"),
    "user": ({"user_id": 3, "action": "logged_in", "timestamp": "2026-11-24T10:00:00Z", "username": "user3",
              "email": "user3@example.com"}, "user-events", "3", "logged_in"),
    "payment": ({"payment_id": 11, "user_id": 1, "amount": 9.99, "status": "completed",
                 "timestamp": "2026-11-24T10:00:00+00:00", "method_type": "card"}, "payment-events", "11",
                "completed"),
}


def test_health_answers_status_true(events_service):
    response = httpx.get(f"{events_service.url}/api/events/health")
    assert response.status_code == 200
    assert response.json() == {"status": True}


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_post_publishes_the_envelope_at_the_returned_offset(events_service, kafka_brokers, kind):
    body, topic, key, action = BODIES[kind]
    response = httpx.post(f"{events_service.url}/api/events/{kind}", json=body, timeout=10)

    assert response.status_code == 201, response.text
    data = response.json()
    assert data["status"] == "success"
    assert isinstance(data["partition"], int) and isinstance(data["offset"], int)
    event = data["event"]
    assert set(event) == {"id", "type", "timestamp", "payload"}
    assert event["type"] == kind
    assert event["payload"] == body
    uuid.UUID(event["id"])

    message = read_at(kafka_brokers, topic, data["partition"], data["offset"])
    assert message is not None, "message not found at the returned partition/offset"
    assert message.key().decode() == key
    envelope = json.loads(message.value())
    assert set(envelope) == ENVELOPE_KEYS
    assert envelope["id"] == event["id"]
    assert (envelope["type"], envelope["action"], envelope["source"]) == (kind, action, "events-api")
    assert envelope["timestamp"] == event["timestamp"]
    assert envelope["payload"] == body


@pytest.mark.parametrize(
    ("kind", "body", "field"),
    [
        ("movie", {"title": "x", "action": "viewed"}, "movie_id"),
        ("movie", {"movie_id": 1, "action": "viewed"}, "title"),
        ("movie", {"movie_id": 1, "title": "x"}, "action"),
        ("movie", {"movie_id": "one", "title": "x", "action": "viewed"}, "movie_id"),
        ("movie", {"movie_id": 1, "title": "x", "action": "rated", "rating": 11}, "rating"),
        ("movie", {"movie_id": 1, "title": "x", "action": "viewed", "genres": "Drama"}, "genres"),
        ("user", {"action": "created", "timestamp": "2026-01-01T00:00:00Z"}, "user_id"),
        ("user", {"user_id": 1, "timestamp": "2026-01-01T00:00:00Z"}, "action"),
        ("user", {"user_id": 1, "action": "created"}, "timestamp"),
        ("user", {"user_id": 1, "action": "created", "timestamp": "yesterday"}, "timestamp"),
        ("payment", {"user_id": 1, "amount": 1, "status": "completed", "timestamp": "2026-01-01"}, "payment_id"),
        ("payment", {"payment_id": 1, "amount": 1, "status": "completed", "timestamp": "2026-01-01"}, "user_id"),
        ("payment", {"payment_id": 1, "user_id": 1, "status": "completed", "timestamp": "2026-01-01"}, "amount"),
        ("payment", {"payment_id": 1, "user_id": 1, "amount": 1, "timestamp": "2026-01-01"}, "status"),
        ("payment", {"payment_id": 1, "user_id": 1, "amount": 1, "status": "completed"}, "timestamp"),
        ("payment", {"payment_id": 1, "user_id": 1, "amount": True, "status": "x", "timestamp": "2026-01-01"},
         "amount"),
    ],
)
def test_invalid_body_is_400_naming_the_field(events_service, kind, body, field):
    response = httpx.post(f"{events_service.url}/api/events/{kind}", json=body)
    assert response.status_code == 400
    assert field in response.json()["error"]


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b"\xff\xfe"])
def test_body_that_is_not_a_json_object_is_400(events_service, raw):
    response = httpx.post(f"{events_service.url}/api/events/movie", content=raw,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "error" in response.json()


def test_lone_surrogate_in_a_field_is_400_not_500(events_service):
    raw = b'{"movie_id": 1, "title": "bad \\ud800 title", "action": "viewed"}'
    response = httpx.post(f"{events_service.url}/api/events/movie", content=raw,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "surrogate" in response.json()["error"]


def test_unknown_kind_is_404_and_wrong_method_405(events_service):
    assert httpx.post(f"{events_service.url}/api/events/rental", json={}).status_code == 404
    response = httpx.get(f"{events_service.url}/api/events/movie")
    assert response.status_code == 405
    assert response.json() == {"error": "method not allowed"}


def test_unreachable_broker_is_503_within_bounded_time(dead_broker_events_service):
    body = BODIES["movie"][0]
    started = time.monotonic()
    response = httpx.post(f"{dead_broker_events_service.url}/api/events/movie", json=body, timeout=30)
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert "broker" in response.json()["error"]
    assert elapsed < 8, f"took {elapsed:.1f}s"
