"""Composition root of the monolith: all domain blueprints in one app."""

from __future__ import annotations

from flask import Flask

from domain_services.movies.api import blueprint as movies
from domain_services.payments.api import blueprint as payments
from domain_services.shared.app_factory import create_app as build
from domain_services.shared.settings import Settings
from domain_services.users.api import blueprint as users

DEFAULT_PORT = 8080


def create_app(settings: Settings | None = None) -> Flask:
    """The monolith app: users, movies, payments and subscriptions plus ``GET /health``."""
    app = build("monolith", [movies, users, payments], settings=settings, health_paths=["/health"])
    return app
