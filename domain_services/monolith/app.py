"""Composition root of the monolith: all domain blueprints in one app."""

from __future__ import annotations

from flask import Flask

from domain_services.movies.api import blueprint as movies
from domain_services.movies.openapi import FRAGMENT as MOVIES_API
from domain_services.payments.api import blueprint as payments
from domain_services.payments.openapi import FRAGMENT as PAYMENTS_API
from domain_services.shared import openapi
from domain_services.shared.app_factory import create_app as build
from domain_services.shared.settings import Settings
from domain_services.users.api import blueprint as users
from domain_services.users.openapi import FRAGMENT as USERS_API

DEFAULT_PORT = 8080
HEALTH_PATH = "/health"


def create_app(settings: Settings) -> Flask:
    """The monolith app: every domain plus ``GET /health`` and ``GET /openapi.json`` (the union)."""
    app = build("monolith", [movies, users, payments], settings=settings, health_paths=[HEALTH_PATH])
    openapi.install(
        app,
        "CinemaAbyss monolith",
        [MOVIES_API, USERS_API, PAYMENTS_API, openapi.health_fragment(HEALTH_PATH)],
    )
    return app
