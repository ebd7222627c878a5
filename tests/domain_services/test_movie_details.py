"""A movie's optional details (release date, running time, poster): validated once in the domain, served by the API."""

from __future__ import annotations

import pytest

from domain_services.movies import services as movies
from kernel.errors import InvalidInput
from tests.domain_services.conftest import unique


def _new(**details):
    return {"title": unique("Detailed "), "description": "", "rating": 5, **details}


def test_details_round_trip_through_the_api(movies_api):
    created = movies_api.post("/api/movies", json=_new(release_date="1994-09-23", duration_minutes=142,
                                                       poster_url="https://posters.example/shawshank.jpg"))
    assert created.status_code == 201, created.json
    assert (created.json["release_date"], created.json["duration_minutes"], created.json["poster_url"]) == (
        "1994-09-23", 142, "https://posters.example/shawshank.jpg")
    assert movies_api.get(f"/api/movies?id={created.json['id']}").json == created.json


def test_details_are_optional_and_null_when_unknown(movies_api):
    created = movies_api.post("/api/movies", json=_new())
    assert created.status_code == 201
    assert {k: created.json[k] for k in movies.DETAILS} == dict.fromkeys(movies.DETAILS)


@pytest.mark.parametrize("field,value", [
    ("release_date", "23/09/1994"), ("release_date", "1994-02-30"), ("release_date", "1994-09-23T10:00"),
    ("release_date", "1800-01-01"), ("release_date", 1994),
    ("duration_minutes", 0), ("duration_minutes", 1001), ("duration_minutes", "90"), ("duration_minutes", True),
    ("poster_url", "javascript:alert(1)"), ("poster_url", "data:image/png;base64,AAAA"), ("poster_url", "/p.jpg"),
    ("poster_url", "ftp://example.com/p.jpg"), ("poster_url", "https://"), ("poster_url", "https://x.example/a b"),
    ("poster_url", "https://x.example/" + "p" * 500),
])
def test_bad_details_are_a_400_naming_the_field(movies_api, field, value):
    answer = movies_api.post("/api/movies", json=_new(**{field: value}))
    assert answer.status_code == 400 and field in answer.json["error"], answer.json


def test_an_update_changes_or_clears_only_the_details_it_names():
    movie = movies.create_movie(_new(release_date="2001-01-01", duration_minutes=90,
                                     poster_url="http://posters.example/a.jpg"))
    changed = movies.update_movie(movie["id"], {"duration_minutes": 95, "poster_url": None})
    assert (changed["release_date"], changed["duration_minutes"], changed["poster_url"]) == ("2001-01-01", 95, None)
    with pytest.raises(InvalidInput):
        movies.update_movie(movie["id"], {"release_date": "soon"})
    assert movies.get_movie(movie["id"])["release_date"] == "2001-01-01"


def test_genre_suggestions_are_the_distinct_genres_in_use_capped():
    genre = unique("Suggested")
    for _ in range(2):
        movies.create_movie({**_new(), "genres": [genre]})
    names = movies.genre_names()
    assert names.count(genre) == 1 and names == sorted(set(names))
    assert len(movies.genre_names(limit=1)) == 1
