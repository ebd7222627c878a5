"""The unpaged ``GET /api/movies`` streams its array: same bytes as before, bounded memory.

The paged form builds its answer with ``jsonify``; the unpaged one is streamed from a
server-side cursor. These tests pin that the two encodings are byte for byte the contract's,
that batches of the cursor keep order and genres, and that a client going away mid-answer
gives the database connection back.
"""

from __future__ import annotations

import pytest
from flask import jsonify

from domain_services.movies import api as movies_api
from domain_services.movies import services
from kernel.db import get_engine

from .conftest import unique


@pytest.fixture
def genre_of_five(apps) -> tuple[str, list[dict]]:
    """Five fresh movies sharing a unique genre (one of them with a second genre)."""
    genre = unique("g")
    client = apps["movies"].test_client()
    created = []
    for i in range(5):
        genres = [genre, unique("h")] if i == 2 else [genre]
        response = client.post("/api/movies", json={"title": unique(f"Strøm {i} \"q\" "), "description": "d é",
                                                    "rating": i + 0.5, "genres": genres})
        assert response.status_code == 201, response.json
        created.append(response.json)
    return genre, created


def _built(app, **kwargs) -> bytes:
    """What ``jsonify`` made of the whole list (the former answer)."""
    with app.test_request_context():
        return jsonify(services.list_movies(**kwargs)).get_data()


@pytest.mark.parametrize("deployment", ["monolith", "movies"])
def test_unpaged_list_is_streamed_with_the_bytes_jsonify_would_send(apps, deployment, genre_of_five):
    app = apps[deployment]
    genre, created = genre_of_five
    response = app.test_client().get(f"/api/movies?genre={genre}")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "Content-Length" not in response.headers  # streamed, not built whole first
    assert response.get_data() == _built(app, genre=genre)
    assert response.json == created  # id order, every field, the second genre kept

    whole = app.test_client().get("/api/movies")
    assert "Content-Length" not in whole.headers and whole.get_data() == _built(app)


def test_an_empty_list_is_the_empty_array(apps):
    response = apps["movies"].test_client().get(f"/api/movies?genre={unique('none')}")
    assert response.status_code == 200 and response.get_data() == b"[]\n"


def test_the_paged_form_is_unchanged(apps, genre_of_five):
    genre, created = genre_of_five
    response = apps["movies"].test_client().get(f"/api/movies?genre={genre}&limit=2&offset=1")
    assert "Content-Length" in response.headers and response.json == created[1:3]


def test_cursor_batches_keep_order_and_genres(apps, genre_of_five, monkeypatch):
    genre, created = genre_of_five
    monkeypatch.setattr(services, "STREAM_BATCH", 2)  # five rows → three fetches
    assert list(services.iter_movies(search=None, genre=genre)) == created
    response = apps["monolith"].test_client().get(f"/api/movies?genre={genre}&offset=1")
    assert response.json == created[1:]


def test_a_client_going_away_gives_the_connection_back(apps, genre_of_five, monkeypatch):
    genre, _ = genre_of_five
    monkeypatch.setattr(services, "STREAM_BATCH", 2)
    monkeypatch.setattr(movies_api, "_CHUNK", 1)  # one chunk per movie
    pool = get_engine().pool
    before = pool.checkedout()
    response = apps["movies"].test_client().get(f"/api/movies?genre={genre}", buffered=False)
    assert pool.checkedout() == before + 1  # the cursor's session is open while the answer streams
    next(iter(response.response))
    response.close()
    assert pool.checkedout() == before
