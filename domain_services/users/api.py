"""HTTP adapter of the users domain (``/api/users``, ``/api/auth``).

The caller is who the gateway says (``X-User-Id`` / ``X-User-Role``, see
``shared/identity.py``); routes that act on the caller's own session (``/me``, logout,
revoke) also accept the bearer token itself, verified here, for direct calls.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState

from domain_services.users import auth, services, sessions
from domain_services.users.throttle import PasswordThrottle
from kernel.db import unit_of_work
from kernel.http import created, json_body
from kernel.identity import PRIVILEGED, Identity, current_identity, require_role
from kernel.pagination import parse_id, parse_page
from kernel.settings import Settings
from kernel.tokens import load_or_create_keys
from kernel.validation import query_text

blueprint = Blueprint("users", __name__)
EXTENSION = "cinemaabyss.users"
#: ``app.extensions`` key of the unit-of-work factory the writes run in; a composition root may
#: set its own before registering the blueprint, else it is :func:`kernel.db.unit_of_work`.
UOW_EXTENSION = "cinemaabyss.users.uow"
# Path ids are bounded to PostgreSQL ``integer``: anything outside cannot exist (404, not 500).
USER_ID = "<int(min=1, max=2147483647):user_id>"


@blueprint.record_once
def _install(state: BlueprintSetupState) -> None:
    """On registration: load (or generate, on first start) the signing keys; build the throttle;
    keep the unit-of-work factory the app was composed with (the real one by default)."""
    settings: Settings = state.app.config["SETTINGS"]  # set by the app factory from its root
    private_pem, public_pem = load_or_create_keys(settings)
    state.app.extensions.setdefault(UOW_EXTENSION, unit_of_work)
    state.app.extensions[EXTENSION] = (
        sessions.TokenSigner(private_pem, public_pem, settings.jwt_ttl_seconds, settings.jwt_refresh_ttl_seconds),
        PasswordThrottle(settings),
    )


def _signer_and_throttle() -> tuple[sessions.TokenSigner, PasswordThrottle]:
    return current_app.extensions[EXTENSION]


def _uow() -> services.UnitOfWorkFactory:
    return current_app.extensions[UOW_EXTENSION]


def _client_address() -> str:
    """The caller's address: the last ``X-Forwarded-For`` hop — the one the gateway appends, the
    address it saw — or, for a direct call, the socket peer."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    return forwarded.rpartition(",")[2].strip()[:64] or request.remote_addr or "-"


def _caller() -> Identity:
    """The gateway's identity headers or, failing those, the request's own bearer token."""
    identity = current_identity()
    if identity.is_anonymous:
        signer, _ = _signer_and_throttle()
        identity = sessions.identity_of_bearer(request.headers.get("Authorization"), signer.public_pem)
    return identity


@blueprint.get("/api/users")
def list_or_get():
    """``?id=N`` → one user; otherwise the list (``search``, ``limit``, ``offset``). E-mails: self or admin."""
    viewer = current_identity()
    user_id = parse_id(request.args)
    if user_id is not None:
        return jsonify(services.get_user(user_id, viewer=viewer))
    page, search = parse_page(request.args), query_text(request.args, "search")
    return jsonify(services.list_users(page, search=search, viewer=viewer))


@blueprint.post("/api/users")
def create():
    """Create a user ``{username, email}`` without a password: admins and services only (legacy
    provisioning; anyone else would squat addresses with accounts nobody can log in to)."""
    require_role(current_identity(), PRIVILEGED, "creating an account without a password")
    return created(services.create_user(json_body(), uow=_uow()))


@blueprint.patch(f"/api/users/{USER_ID}")
def update(user_id: int):
    """Change ``{username?, email?}`` (self or admin) or ``{role?, disabled?}`` (admin)."""
    return jsonify(services.update_user(user_id, json_body(), actor=current_identity(), uow=_uow()))


@blueprint.delete(f"/api/users/{USER_ID}")
def delete(user_id: int):
    """Delete a user (self or admin); their tokens are revoked."""
    services.delete_user(user_id, actor=current_identity(), uow=_uow())
    return "", 204


@blueprint.get("/api/users/me")
def me():
    """The user named by the ``Authorization: Bearer`` token."""
    signer, _ = _signer_and_throttle()
    return jsonify(auth.current_user(request.headers.get("Authorization"), signer.public_pem))


@blueprint.post("/api/auth/register")
def register():
    """Sign up ``{username, email, password}``."""
    _, throttle = _signer_and_throttle()
    return created(auth.register(json_body(), throttle, _client_address()))


@blueprint.post("/api/auth/login")
def login():
    """Log in ``{username, password}`` → an access token and a refresh token."""
    signer, throttle = _signer_and_throttle()
    return jsonify(auth.login(json_body(), signer, throttle, _client_address()))


@blueprint.post("/api/auth/refresh")
def refresh():
    """Exchange ``{refresh_token}`` for a new token pair (the presented one is spent)."""
    signer, _ = _signer_and_throttle()
    return jsonify(sessions.refresh(json_body(), signer))


@blueprint.post("/api/auth/logout")
def logout():
    """Revoke every token of the caller."""
    return jsonify(sessions.logout(_caller()))


@blueprint.post("/api/auth/revoke")
def revoke():
    """Revoke a user's tokens: ``{user_id?}`` (admin: anyone; a user: themself)."""
    caller = _caller()
    return jsonify(sessions.revoke(caller, json_body() if request.get_data(cache=True) else None))
