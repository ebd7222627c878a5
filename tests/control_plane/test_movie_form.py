"""The movie form: release date, running time and poster edited through the domain; genre suggestions."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import update

from domain_services.movies import services as movies
from domain_services.movies.models import Movie
from kernel.db import unit_of_work


def _form(title: str, **extra) -> dict[str, str]:
    return {"title": title, "description": "", "rating": "6", "genres_text": "Drama", **extra}


def test_details_are_created_listed_and_prefilled(as_role):
    title = f"Form details {uuid.uuid4().hex[:8]}"
    editor = as_role("editor")
    response = editor.post("/admin/movies/new/", _form(title, release_date="1999-03-31", duration_minutes="136",
                                                       poster_url="https://posters.example/matrix.jpg"))
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    movie = movies.list_movies(search=title)[0]
    assert (movie["release_date"], movie["duration_minutes"], movie["poster_url"]) == (
        "1999-03-31", 136, "https://posters.example/matrix.jpg")

    listing = editor.get(f"/admin/movies/?search={title.replace(' ', '+')}").get_data(as_text=True)
    assert "1999-03-31" in listing and "136" in listing  # the Release Date column is no longer empty

    edit = editor.get(f"/admin/movies/edit/?id={movie['id']}").get_data(as_text=True)
    assert 'value="1999-03-31"' in edit and 'value="136"' in edit
    assert re.search(r'<img src="https://posters.example/matrix.jpg"', edit)


def test_a_bad_detail_is_refused_under_its_field(as_role):
    title = f"Form bad {uuid.uuid4().hex[:8]}"
    html = as_role("editor").post("/admin/movies/new/", _form(title, duration_minutes="2000")).get_data(as_text=True)
    assert "must be between 1 and 1000" in html
    assert movies.list_movies(search=title) == []


def test_an_unsafe_stored_poster_is_never_shown(as_role):
    movie = movies.create_movie({"title": f"Legacy poster {uuid.uuid4().hex[:8]}", "description": "", "rating": 5})
    with unit_of_work() as uow:  # a legacy row, written before the domain checked posters
        uow.session.execute(update(Movie).where(Movie.id == movie["id"]).values(poster_url="javascript:alert(1)"))
    edit = as_role("editor").get(f"/admin/movies/edit/?id={movie['id']}").get_data(as_text=True)
    assert 'data-testid="poster-preview"' not in edit and '<img src="javascript' not in edit


def test_the_form_suggests_the_genres_in_use(as_role):
    genre = f"Suggest{uuid.uuid4().hex[:6]}"
    movies.create_movie({"title": "Suggesting", "description": "", "rating": 5, "genres": [genre]})
    html = as_role("editor").get("/admin/movies/new/").get_data(as_text=True)
    datalist = html[html.index('<datalist id="genre-suggestions"'):html.index("</datalist>")]
    assert f'<option value="{genre}">' in datalist
