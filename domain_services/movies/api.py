"""HTTP adapter of the movies domain (``/api/movies``): parse, call the service, answer."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from domain_services.movies import services
from domain_services.shared.errors import InvalidInput
from domain_services.shared.http import created, json_body
from domain_services.shared.pagination import parse_id, parse_page
from domain_services.shared.validation import query_text

blueprint = Blueprint("movies", __name__)

# Path ids are bounded to PostgreSQL ``integer``: anything outside cannot exist (404, not 500).
MOVIE_ID = "<int(min=1, max=2147483647):movie_id>"
USER_HEADER = "X-User-Id"


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
    """Rate a movie 1..10 as the gateway's user (``X-User-Id``) or the body's ``user_id``."""
    result, is_new = services.rate_movie(movie_id, json_body(), user_id=_gateway_user())
    return jsonify(result), 201 if is_new else 200


def _gateway_user() -> int | None:
    """The user id the gateway put in ``X-User-Id`` (after verifying the token), if any."""
    raw = request.headers.get(USER_HEADER)
    if raw is None or raw.strip() == "":
        return None
    raw = raw.strip()
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise InvalidInput(f"header {USER_HEADER} must be a positive integer")
    return int(raw)
