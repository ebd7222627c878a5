"""HTTP adapter of the users domain (``/api/users``)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from domain_services.shared.http import created, json_body
from domain_services.shared.pagination import parse_id, parse_page
from domain_services.users import services

blueprint = Blueprint("users", __name__)


@blueprint.get("/api/users")
def list_or_get():
    """``?id=N`` → one user; otherwise the list (``search``, ``limit``, ``offset``)."""
    user_id = parse_id(request.args)
    if user_id is not None:
        return jsonify(services.get_user(user_id))
    return jsonify(services.list_users(parse_page(request.args), search=request.args.get("search")))


@blueprint.post("/api/users")
def create():
    """Create a user ``{username, email}``."""
    return created(services.create_user(json_body()))
