"""Composition root of the movies service: the same blueprint the monolith serves, on its own."""

from __future__ import annotations

from flask import Flask

from domain_services.movies.api import blueprint
from domain_services.movies.openapi import FRAGMENT
from kernel import openapi
from kernel.app_factory import create_app as build
from kernel.settings import Settings

DEFAULT_PORT = 8081
HEALTH_PATH = "/api/movies/health"


def create_app(settings: Settings) -> Flask:
    """The movies service app: movies plus the health route and ``GET /openapi.json``."""
    app = build("movies", [blueprint], settings=settings, health_paths=[HEALTH_PATH])
    openapi.install(app, "CinemaAbyss movies service", [FRAGMENT, openapi.health_fragment(HEALTH_PATH)])
    return app
