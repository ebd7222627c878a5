"""HTTP adapter of the users domain (``/api/users``, ``/api/auth``)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState

from domain_services.shared.http import created, json_body
from domain_services.shared.pagination import parse_id, parse_page
from domain_services.shared.settings import Settings
from domain_services.shared.tokens import load_or_create_keys
from domain_services.shared.validation import query_text
from domain_services.users import auth, services
from domain_services.users.throttle import LoginThrottle

blueprint = Blueprint("users", __name__)
EXTENSION = "cinemaabyss.users"


@blueprint.record_once
def _install(state: BlueprintSetupState) -> None:
    """On registration: load (or generate, on first start) the signing keys; build the throttle."""
    settings: Settings = state.app.config["SETTINGS"]  # set by the app factory from its root
    private_pem, public_pem = load_or_create_keys(settings)
    state.app.extensions[EXTENSION] = (
        auth.TokenSigner(private_pem, public_pem, settings.jwt_ttl_seconds),
        LoginThrottle(settings.redis_url),
    )


def _signer_and_throttle() -> tuple[auth.TokenSigner, LoginThrottle]:
    return current_app.extensions[EXTENSION]


@blueprint.get("/api/users")
def list_or_get():
    """``?id=N`` → one user; otherwise the list (``search``, ``limit``, ``offset``)."""
    user_id = parse_id(request.args)
    if user_id is not None:
        return jsonify(services.get_user(user_id))
    return jsonify(services.list_users(parse_page(request.args), search=query_text(request.args, "search")))


@blueprint.post("/api/users")
def create():
    """Create a user ``{username, email}``."""
    return created(services.create_user(json_body()))


@blueprint.get("/api/users/me")
def me():
    """The user named by the ``Authorization: Bearer`` token."""
    signer, _ = _signer_and_throttle()
    return jsonify(auth.current_user(request.headers.get("Authorization"), signer.public_pem))


@blueprint.post("/api/auth/register")
def register():
    """Sign up ``{username, email, password}``."""
    return created(auth.register(json_body()))


@blueprint.post("/api/auth/login")
def login():
    """Log in ``{username, password}`` → a bearer token."""
    signer, throttle = _signer_and_throttle()
    return jsonify(auth.login(json_body(), signer, throttle))
