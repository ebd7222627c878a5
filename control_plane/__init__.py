"""The control-plane console (port 8090): operators, strangler controls, catalogue, audit, Kafka viewer.

:func:`create_app` is the composition root: it wires settings, the session secret, Flask-Login,
CSRF, the blueprints and the Flask-Admin views. Nothing connects at import time.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask, render_template, send_from_directory
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.orm import scoped_session
from werkzeug.exceptions import HTTPException

from kernel.db import bind as bind_database
from kernel.db import get_session_factory
from kernel.settings import PROJECT_ROOT, Settings, get_settings

ROOT = Path(PROJECT_ROOT)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the console app for ``settings`` (default: the process settings)."""
    from control_plane import (
        admin_support,
        admin_views,
        assets,
        audit,
        auth,
        dashboard,
        dates,
        events_stream,
        kafka_viewer,
        security,
        strangler,
    )
    from control_plane.dead_letters import bp as dead_letters_bp
    from control_plane.extensions import csrf, login_manager
    from control_plane.payments_unsettled import bp as payments_unsettled_bp
    from control_plane.roles import can
    from control_plane.rollouts import bp as rollouts_bp
    from control_plane.secret import load_secret_key
    from control_plane.shadow import bp as shadow_bp
    from control_plane.webhooks import bp as webhooks_bp

    settings = settings or get_settings()
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=load_secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        FLASK_ADMIN_FLUID_LAYOUT=True,
    )
    security.install(app, [h.strip() for h in settings.console_trusted_hosts.split(",") if h.strip()])
    assets.install(app)  # fingerprinted static URLs, cached for a year
    login_manager.init_app(app)
    csrf.init_app(app)
    for blueprint in (auth.bp, dashboard.bp, strangler.bp, audit.bp, kafka_viewer.bp, events_stream.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(dead_letters_bp)  # the event pipeline's dead-letter page
    app.register_blueprint(rollouts_bp)  # rollout plans: start/pause/resume/abort + the card partial
    app.register_blueprint(shadow_bp)  # shadow compare: mismatch paths, ignore rules, side-by-side samples
    app.register_blueprint(webhooks_bp)  # outgoing notification endpoints (admin)
    app.register_blueprint(payments_unsettled_bp)  # payments waiting for their provider, with its status

    bind_database(settings.database_url)  # audit, operators and flags open sessions on it
    session = scoped_session(get_session_factory(settings.database_url))
    admin_views.init_admin(app, session, csp_nonce=security.csp_nonce, csv_export=settings.console_csv_export)
    app.teardown_appcontext(lambda _exc: session.remove())
    app.jinja_env.globals["can"] = can
    app.jinja_env.globals["record_url"] = admin_support.record_url
    app.jinja_env.filters["when"] = dates.when  # one date format everywhere
    _register_error_pages(app)
    app.add_url_rule("/favicon.ico", "favicon", _favicon)
    return app


def _favicon():
    """Browsers (and Flask-Admin pages, which link none) ask for ``/favicon.ico``."""
    return send_from_directory(ROOT / "static", "favicon.svg", mimetype="image/svg+xml", max_age=86400)


def _register_error_pages(app: Flask) -> None:
    """HTML error pages: CSRF failures are 400, a down database is a 503 banner page."""

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return render_template("error.html", code=400, message=f"Form expired or forged: {exc.description}"), 400

    @app.errorhandler(400)
    def _bad_request(exc: HTTPException):
        if request_ctx.url_adapter is None:  # an untrusted Host: no URLs can be built for it
            return f"Bad request: {exc.description}\n", 400, {"Content-Type": "text/plain; charset=utf-8"}
        return render_template("error.html", code=400, message=f"Bad request: {exc.description}"), 400

    @app.errorhandler(DataError)
    def _bad_value(_exc: DataError):
        # PostgreSQL refused a value taken from the request (an id that is not a number, an
        # offset past bigint): the request is at fault, not the server.
        return render_template("error.html", code=400, message="Bad request: a value is out of range."), 400

    @app.errorhandler(403)
    def _forbidden(_exc):
        return render_template("error.html", code=403, message="Your role does not allow this page."), 403

    @app.errorhandler(404)
    def _not_found(_exc):
        return render_template("error.html", code=404, message="Not found."), 404

    @app.errorhandler(OperationalError)
    def _database_down(_exc):
        return render_template("error.html", code=503,
                               message="PostgreSQL is unreachable; retry in a moment."), 503
