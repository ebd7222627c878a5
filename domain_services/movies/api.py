"""HTTP adapter of the movies domain (``/api/movies``): parse, call the service, answer."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from domain_services.movies import services
from kernel.http import created, json_body
from kernel.identity import current_identity, require_user
from kernel.pagination import parse_id, parse_page
from kernel.validation import query_text

blueprint = Blueprint("movies", __name__)

# Path ids are bounded to PostgreSQL ``integer``: anything outside cannot exist (404, not 500).
MOVIE_ID = "<int(min=1, max=2147483647):movie_id>"


@blueprint.get("/api/movies")
def list_or_get():
    """``?id=N`` → one movie; otherwise the list (``search``, ``genre``, ``limit``, ``offset``)."""
    movie_id = parse_id(request.args)
    if movie_id is not None:
        return jsonify(services.get_movie(movie_id))
    page = parse_page(request.args)
    search, genre = query_text(request.args, "search"), query_text(request.args, "genre")
    return jsonify(services.list_movies(page, search=search, genre=genre))


@blueprint.post("/api/movies")
def create():
    """Create a movie."""
    return created(services.create_movie(json_body()))


@blueprint.get("/api/movies/genres")
def genres():
    """Distinct genres with their movie counts."""
    return jsonify(services.list_genres())


@blueprint.post(f"/api/movies/{MOVIE_ID}/ratings")
def rate(movie_id: int):
    """Rate a movie 1..10 as the caller (the token's user); only admin/service name a ``user_id``."""
    result, is_new = services.rate_movie(movie_id, json_body(), user_id=_rating_user())
    return jsonify(result), 201 if is_new else 200


def _rating_user() -> int | None:
    """Whose rating this is: always the caller's; ``None`` lets admin/service name it in the body."""
    identity = current_identity()
    if identity.is_privileged:
        return None
    return require_user(identity)
