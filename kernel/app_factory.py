"""``create_app``: one Flask app factory for the monolith and every domain service.

A deployment is just a list of blueprints: the monolith registers all domains, a domain
service registers its own. The same blueprints, therefore the same code path, serve both.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from flask import Blueprint, Flask, jsonify

from kernel import db, exactly_once, relay_nudge
from kernel.http import register_error_handlers
from kernel.identity import CHECK_CONFIG, IdentityCheck
from kernel.settings import Settings


def configure_logging(settings: Settings) -> None:
    """One log format for every process (called by entry points, never at import time)."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


def create_app(
    name: str,
    blueprints: Iterable[Blueprint],
    *,
    settings: Settings,
    health_paths: Iterable[str] = (),
) -> Flask:
    """Build a JSON API app serving ``blueprints`` with the shared error mapping.

    ``settings`` come from the composition root (``server.serve`` or a test); the app reads
    them from ``app.config["SETTINGS"]`` and binds its process's database to
    ``settings.database_url``. Every ``POST``/``PATCH`` carrying an ``Idempotency-Key`` runs
    exactly once (:mod:`kernel.exactly_once`). ``health_paths`` each answer ``{"status": true}`` (the
    services' contract).
    """
    db.bind(settings.database_url)
    app = Flask(name)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["SETTINGS"] = settings
    app.config[CHECK_CONFIG] = IdentityCheck.from_settings(settings)  # identity headers must be the gateway's
    app.json.sort_keys = False  # keep the contract's field order
    app.json.ensure_ascii = False
    register_error_handlers(app)
    exactly_once.install(app)  # a keyed write commits with its key and answer, or not at all
    relay_nudge.install(settings.redis_url)  # domain writes wake the outbox relay after they commit
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    for path in health_paths:
        app.add_url_rule(path, f"health_{path}", lambda: jsonify({"status": True}))
    return app
