"""HTTP adapter of the movies domain (``/api/movies``): parse, call the service, answer."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

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
    if page.limit is None:
        return _json_array(services.iter_movies(page, search=search, genre=genre))
    return jsonify(services.list_movies(page, search=search, genre=genre))


def _json_array(items: Generator[dict[str, Any], None, None]) -> Response:
    """Stream ``items`` as the JSON array ``jsonify`` would send, in chunks of about 64 KiB.

    The legacy unpaged list has no bound; building it whole cost hundreds of MB per request
    on a large catalogue. The first element is read before answering, so a failing query
    still gets the JSON error answer instead of a cut-off 200.
    """
    dumps = current_app.json.dumps
    first = next(items, None)

    def chunks() -> Iterator[str]:
        if first is None:
            yield "[]\n"
            return
        parts, size = ["[", dumps(first, separators=_COMPACT)], 0
        for item in items:
            part = dumps(item, separators=_COMPACT)
            parts += (",", part)
            size += len(part)
            if size >= _CHUNK:
                yield "".join(parts)
                parts, size = [], 0
        parts.append("]\n")
        yield "".join(parts)

    response = Response(chunks(), mimetype=current_app.json.mimetype)
    # ends the cursor and its session when the answer is done, also when the client went away
    response.call_on_close(items.close)
    return response


_COMPACT = (",", ":")  # jsonify's separators outside debug mode
_CHUNK = 64 * 1024


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
