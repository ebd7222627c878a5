"""Composition root of the users service: the same blueprint the monolith serves, on its own."""

from __future__ import annotations

from flask import Flask

from domain_services.users.api import blueprint
from domain_services.users.openapi import FRAGMENT
from kernel import openapi
from kernel.app_factory import create_app as build
from kernel.settings import Settings

DEFAULT_PORT = 8083
HEALTH_PATH = "/api/users/health"


def create_app(settings: Settings) -> Flask:
    """The users service app: users plus the health route and ``GET /openapi.json``."""
    app = build("users", [blueprint], settings=settings, health_paths=[HEALTH_PATH])
    openapi.install(app, "CinemaAbyss users service", [FRAGMENT, openapi.health_fragment(HEALTH_PATH)])
    return app
