"""Composition root of the payments service: the same blueprint the monolith serves, on its own."""

from __future__ import annotations

from flask import Flask

from domain_services.payments.api import blueprint
from domain_services.payments.openapi import FRAGMENT
from kernel import openapi
from kernel.app_factory import create_app as build
from kernel.settings import Settings

DEFAULT_PORT = 8084
HEALTH_PATH = "/api/payments/health"


def create_app(settings: Settings) -> Flask:
    """The payments service app: payments and subscriptions plus the health route and ``GET /openapi.json``."""
    app = build("payments", [blueprint], settings=settings, health_paths=[HEALTH_PATH])
    openapi.install(app, "CinemaAbyss payments service", [FRAGMENT, openapi.health_fragment(HEALTH_PATH)])
    return app
