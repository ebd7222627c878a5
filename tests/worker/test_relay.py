"""The outbox relay through real processes: a committed write reaches Kafka, a failed one never does."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from domain_services.movies import services as movies
from domain_services.users import services as users
from eventing.outbox_stats import outbox_stats
from kernel.db import read_session
from kernel.errors import Conflict
from kernel.models import OutboxEvent
from kernel.relay_nudge import RelayNudge
from tests.events.kafka_read import high_watermarks, read_range
from tests.support.processes import wait_until
from tests.worker.conftest import private_redis_url


def _published_at(event_id: str):
    with read_session() as session:
        return session.scalar(select(OutboxEvent.published_at).where(OutboxEvent.id == uuid.UUID(event_id)))


def _event_id(key: str, event_type: str) -> str:
    with read_session() as session:
        return str(session.scalar(select(OutboxEvent.id).where(OutboxEvent.key == key,
                                                                 OutboxEvent.event_type == event_type)))


def test_domain_write_reaches_kafka_with_its_envelope(relay, kafka_brokers):
    start = high_watermarks(kafka_brokers, "movie-events")
    movie = movies.create_movie({"title": f"Relayed {uuid.uuid4().hex[:8]}", "description": "", "rating": 6})
    event_id = _event_id(str(movie["id"]), "movie.created")

    wait_until(lambda: _published_at(event_id), timeout=20, message="outbox row published")
    found = [e for e in read_range(kafka_brokers, "movie-events", start) if e.get("id") == event_id]

    assert len(found) == 1
    assert found[0]["_key"] == str(movie["id"])
    assert (found[0]["type"], found[0]["action"], found[0]["source"]) == ("movie", "created", "movies")
    assert found[0]["payload"]["title"] == movie["title"]


def test_nudge_relays_without_waiting_for_many_sweeps(relay, kafka_brokers):
    movie = movies.create_movie({"title": f"Nudged {uuid.uuid4().hex[:8]}", "description": "", "rating": 6})
    assert RelayNudge(private_redis_url(relay["REDIS_URL"])).send_now()
    event_id = _event_id(str(movie["id"]), "movie.created")
    wait_until(lambda: _published_at(event_id), timeout=5, message="nudged relay")


def test_failed_transaction_emits_nothing(relay, kafka_brokers):
    name = f"fail{uuid.uuid4().hex[:8]}"
    users.create_user({"username": name, "email": f"{name}@example.com"})
    start = high_watermarks(kafka_brokers, "user-events")

    with pytest.raises(Conflict):
        users.create_user({"username": name, "email": f"second-{name}@example.com"})
    # a later successful write is the barrier: once it is on the topic, anything before it is too
    barrier = users.create_user({"username": f"b{name}", "email": f"b{name}@example.com"})
    barrier_id = _event_id(str(barrier["id"]), "user.created")
    wait_until(lambda: _published_at(barrier_id), timeout=20, message="barrier event published")

    emails = [e["payload"].get("email") for e in read_range(kafka_brokers, "user-events", start)]
    assert f"b{name}@example.com" in emails
    assert f"second-{name}@example.com" not in emails


def test_outbox_stats_reports_backlog_figures(relay):
    stats = outbox_stats()
    assert set(stats) == {"pending", "oldest_pending_age_seconds", "published_last_minute"}
    assert stats["pending"] >= 0
    assert stats["published_last_minute"] >= 0
