"""The events API against hostile bodies: deep nesting, repeated keys, oversize, any bytes — never a 5xx."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain_services.events.api import MAX_EVENT_BYTES

KINDS = ("movie", "user", "payment")
FIELDS = ["movie_id", "title", "action", "user_id", "rating", "genres", "description", "timestamp", "username",
          "email", "payment_id", "amount", "status", "method_type"]


@pytest.fixture(scope="module")
def client(events_service):
    with httpx.Client(base_url=events_service.url, headers={"Content-Type": "application/json"}) as http:
        yield http


@pytest.mark.parametrize("raw", [
    b"[" * 50_000,  # raised RecursionError inside json.loads: a 500
    b'{"movie_id": ' * 2000 + b"1" + b"}" * 2000,
    b'{"movie_id": 1, "title": "t", "action": "viewed", "genres": [[[[["deep"]]]]]}',
])
def test_nesting_beyond_the_limit_is_a_json_400(client, raw):
    response = client.post("/api/events/movie", content=raw)
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["error"]


def test_a_repeated_key_is_a_json_400_not_a_silent_pick(client):
    raw = b'{"movie_id": 1, "movie_id": 2, "title": "t", "action": "viewed"}'
    response = client.post("/api/events/movie", content=raw)
    assert response.status_code == 400
    assert "repeats a key" in response.json()["error"]


def test_a_body_over_the_event_size_limit_is_a_json_413(client):
    body = {"movie_id": 1, "title": "t", "action": "viewed", "description": "x" * MAX_EVENT_BYTES}
    response = client.post("/api/events/movie", content=json.dumps(body).encode())
    assert response.status_code == 413
    assert response.json() == {"error": "request body too large"}


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                         st.text(st.characters(codec="utf-8"), max_size=40))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), inner, max_size=5),
                           max_leaves=15)
bodies = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8).map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.integers(1, 5000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.binary(max_size=100),
)


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(KINDS), raw=bodies)
def test_no_body_yields_a_5xx(client, kind, raw):
    response = client.post(f"/api/events/{kind}", content=raw)
    assert response.status_code < 500, f"{kind} {raw[:100]!r} -> {response.status_code}: {response.text[:200]}"
    if response.status_code >= 400:
        assert "error" in response.json()
