"""HTTP adapter of the movies domain (``/api/movies``): parse, call the service, answer."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from domain_services.movies import services
from domain_services.shared.http import created, json_body
from domain_services.shared.pagination import parse_id, parse_page

blueprint = Blueprint("movies", __name__)


@blueprint.get("/api/movies")
def list_or_get():
    """``?id=N`` → one movie; otherwise the list (``search``, ``genre``, ``limit``, ``offset``)."""
    movie_id = parse_id(request.args)
    if movie_id is not None:
        return jsonify(services.get_movie(movie_id))
    page = parse_page(request.args)
    return jsonify(services.list_movies(page, search=request.args.get("search"), genre=request.args.get("genre")))


@blueprint.post("/api/movies")
def create():
    """Create a movie."""
    return created(services.create_movie(json_body()))
