"""Catalogue admin writes go through the domain services (validation + outbox event)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from domain_services.movies.models import Movie
from kernel.db import read_session
from kernel.models import FlagAudit, OutboxEvent


class _Event:
    def __init__(self, row: OutboxEvent) -> None:
        self.event_type, self.payload = row.event_type, row.payload


def _outbox_for_title(title: str) -> list[_Event]:
    with read_session() as session:
        query = select(OutboxEvent).where(OutboxEvent.payload["payload"]["title"].astext == title)
        return [_Event(row) for row in session.scalars(query)]


def test_create_movie_through_admin_emits_outbox_event(as_role, operators):
    title = f"Console Movie {uuid.uuid4().hex[:8]}"
    editor = as_role("editor")
    response = editor.post("/admin/movies/new/", {"title": title, "description": "d", "rating": "7.5",
                                                   "genres_text": "Drama, Noir"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    events = _outbox_for_title(title)
    assert [e.event_type for e in events] == ["movie.created"]
    assert events[0].payload["payload"]["genres"] == ["Drama", "Noir"]
    with read_session() as session:
        audit = session.scalars(select(FlagAudit).where(FlagAudit.action == "catalogue.movie.created",
                                                        FlagAudit.actor == operators["editor"])).all()
        assert audit
    assert audit


def test_domain_validation_error_is_flashed_and_nothing_written(as_role):
    title = f"Bad Movie {uuid.uuid4().hex[:8]}"
    editor = as_role("editor")
    response = editor.post("/admin/movies/new/", {"title": title, "description": "", "rating": "11",
                                                   "genres_text": ""}, follow_redirects=True)
    assert "rating must be at most 10" in response.get_data(as_text=True)
    assert _outbox_for_title(title) == []


def test_edit_and_delete_movie_emit_events(as_role):
    from domain_services.movies.services import create_movie

    movie = create_movie({"title": f"Edit Me {uuid.uuid4().hex[:8]}", "description": "", "rating": 5})
    editor = as_role("editor")
    new_title = movie["title"] + " (edited)"
    response = editor.post(f"/admin/movies/edit/?id={movie['id']}", {"title": new_title, "description": "x",
                                                                    "rating": "6", "genres_text": "Comedy"})
    assert response.status_code == 302
    assert [e.event_type for e in _outbox_for_title(new_title)] == ["movie.updated"]
    editor.post(f"/admin/movies/delete/?id={movie['id']}", {"id": str(movie["id"]), "url": "/admin/movies/"})
    with read_session() as session:
        assert session.get(Movie, movie["id"]) is None


def test_movie_list_searches_and_pages(as_role):
    html = as_role("editor").get("/admin/movies/?search=Godfather").get_data(as_text=True)
    assert "The Godfather" in html and "Pulp Fiction" not in html


def test_admin_creates_operator_with_hashed_password(as_role):
    from control_plane import operators as service

    name = f"op-{uuid.uuid4().hex[:8]}"
    response = as_role("admin").post("/admin/operators/new/", {"username": name, "role": "viewer", "active": "y",
                                                               "password": ""}, follow_redirects=True)
    assert "shown once" in response.get_data(as_text=True)
    assert service.find_by_username(name).role == "viewer"
