"""Composition root of the monolith: every flagged domain's blueprint in one app.

The domains come from the registry (``kernel/registry.py``): a flagged domain
is one the strangler moves out of the monolith, so the monolith serves it too. Each domain
package follows one convention — ``<package>.api.blueprint`` and
``<package>.openapi.FRAGMENT`` — so a new domain needs no edit here.
"""

from __future__ import annotations

import importlib

from flask import Flask

from kernel import openapi, registry
from kernel.app_factory import create_app as build
from kernel.settings import Settings

DEFAULT_PORT = 8080
HEALTH_PATH = "/health"


def create_app(settings: Settings) -> Flask:
    """The monolith app: every flagged domain plus ``GET /health`` and ``GET /openapi.json`` (the union)."""
    packages = [registry.domain(name).package for name in registry.FLAGGED]
    blueprints = [importlib.import_module(f"{package}.api").blueprint for package in packages]
    fragments = [importlib.import_module(f"{package}.openapi").FRAGMENT for package in packages]
    app = build("monolith", blueprints, settings=settings, health_paths=[HEALTH_PATH])
    openapi.install(app, "CinemaAbyss monolith", [*fragments, openapi.health_fragment(HEALTH_PATH)])
    return app
