"""Composition root of the payments service: the same blueprint the monolith serves, on its own."""

from __future__ import annotations

from flask import Flask

from domain_services.payments.api import blueprint
from domain_services.payments.openapi import FRAGMENT
from kernel import openapi, registry
from kernel.app_factory import create_app as build
from kernel.settings import Settings

#: This service's port and health path are its registry entry's.
DOMAIN = registry.domain("payments")


def create_app(settings: Settings) -> Flask:
    """The payments service app: payments and subscriptions plus the health route and ``GET /openapi.json``."""
    app = build(DOMAIN.name, [blueprint], settings=settings, health_paths=[DOMAIN.health_path])
    openapi.install(app, "CinemaAbyss payments service", [FRAGMENT, openapi.health_fragment(DOMAIN.health_path)])
    return app
