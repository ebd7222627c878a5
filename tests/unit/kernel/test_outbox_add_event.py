"""The outbox writer on a fake unit of work: one row per event, per-key sequence, nudge after commit."""

from __future__ import annotations

import uuid

import pytest

from kernel import outbox
from kernel.models import OutboxEvent
from kernel.registry import topic_of
from tests.support.fakes import FakeSession, fake_unit_of_work


@pytest.fixture
def nudges(monkeypatch):
    """The writer's nudge list, isolated from whatever the process registered."""
    registered: list = []
    monkeypatch.setattr(outbox, "_nudges", registered)
    return registered


def test_event_row_carries_envelope_topic_and_sequence(nudges):
    session = FakeSession()
    with fake_unit_of_work(session) as uow:
        first = outbox.add_event(uow, "movie.created", 7, {"movie_id": 7, "title": "A"}, "test")
        second = outbox.add_event(uow, "movie.updated", 7, {"movie_id": 7, "title": "B"}, "test")
        other = outbox.add_event(uow, "movie.created", 8, {"movie_id": 8, "title": "C"}, "test")
    rows = [row for row in session.added if isinstance(row, OutboxEvent)]
    assert [(r.topic, r.key, r.seq, r.event_type) for r in rows] == [
        (topic_of("movies"), "7", 1, "movie.created"),
        (topic_of("movies"), "7", 2, "movie.updated"),
        (topic_of("movies"), "8", 1, "movie.created"),
    ]
    assert [r.id for r in rows] == [uuid.UUID(e["id"]) for e in (first, second, other)]
    assert first["type"] == "movie" and first["action"] == "created" and first["payload"]["title"] == "A"
    assert rows[0].payload == first


def test_nudges_run_once_and_only_after_the_commit(nudges):
    session, seen = FakeSession(), []
    outbox.register_nudge(lambda: seen.append(session.committed))
    with fake_unit_of_work(session) as uow:
        outbox.add_event(uow, "user.created", 1, {"user_id": 1}, "test")
        outbox.add_event(uow, "user.updated", 1, {"user_id": 1}, "test")
        assert seen == []
    assert seen == [True]


def test_a_rolled_back_write_nudges_nobody(nudges):
    seen = []
    outbox.register_nudge(lambda: seen.append(1))
    with pytest.raises(RuntimeError), fake_unit_of_work() as uow:
        outbox.add_event(uow, "payment.created", 1, {"payment_id": 1}, "test")
        raise RuntimeError("the domain rule failed after the event was written")
    assert seen == []


def test_an_unregistered_event_name_is_a_programming_error(nudges):
    with pytest.raises(KeyError, match="unregistered event type"), fake_unit_of_work() as uow:
        outbox.add_event(uow, "movie.teleported", 1, {}, "test")
