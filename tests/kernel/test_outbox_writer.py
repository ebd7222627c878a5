"""A domain write and its outbox event commit together or not at all."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from domain_services.movies import services as movies
from domain_services.users import services as users
from domain_services.users.models import User
from kernel.db import read_session
from kernel.errors import Conflict, InvalidInput
from kernel.models import OutboxEvent


def _outbox_count() -> int:
    with read_session() as session:
        return session.scalar(select(func.count()).select_from(OutboxEvent))


def test_create_writes_row_and_event_with_envelope(db_url):
    title = f"Outbox {uuid.uuid4().hex[:8]}"
    movie = movies.create_movie({"title": title, "description": "d", "rating": 7.5, "genres": ["Drama"]})

    with read_session() as session:
        event = session.scalars(
            select(OutboxEvent).where(OutboxEvent.key == str(movie["id"]), OutboxEvent.event_type == "movie.created")
        ).one()
        topic, event_id, envelope = event.topic, str(event.id), event.payload
    assert topic == "movie-events"
    assert set(envelope) == {"id", "type", "action", "timestamp", "source", "payload", "sequence"}
    assert envelope["id"] == event_id
    assert (envelope["type"], envelope["action"]) == ("movie", "created")
    assert envelope["payload"]["title"] == title
    assert envelope["payload"]["genres"] == ["Drama"]


def test_failed_write_leaves_neither_row_nor_event(db_url):
    name = f"dup{uuid.uuid4().hex[:8]}"
    users.create_user({"username": name, "email": f"{name}@example.com"})
    before = _outbox_count()

    with pytest.raises(Conflict):
        users.create_user({"username": name, "email": f"other-{name}@example.com"})

    assert _outbox_count() == before
    with read_session() as session:
        assert (
            session.scalar(select(func.count()).select_from(User).where(User.email == f"other-{name}@example.com")) == 0
        )


def test_invalid_input_writes_nothing(db_url):
    before = _outbox_count()
    with pytest.raises(InvalidInput, match="rating"):
        movies.create_movie({"title": "Too good", "description": "", "rating": 11})
    assert _outbox_count() == before


def test_nudge_runs_only_after_commit(db_url):
    from kernel import outbox
    seen: list[int] = []

    def nudge() -> None:
        # Runs after commit: the event row must already be visible to another session.
        with read_session() as session:
            seen.append(session.scalar(select(func.count()).select_from(OutboxEvent)))

    outbox.register_nudge(nudge)
    try:
        before = _outbox_count()
        movies.create_movie({"title": f"Nudge {uuid.uuid4().hex[:6]}", "description": "", "rating": 1})
        with pytest.raises(InvalidInput):
            movies.create_movie({"title": "", "description": "", "rating": 1})
    finally:
        outbox._nudges.remove(nudge)
    assert len(seen) == 1
    assert seen[0] >= before + 1
