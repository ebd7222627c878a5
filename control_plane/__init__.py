"""The control-plane console (port 8090): operators, strangler controls, catalogue, audit, Kafka viewer.

:func:`create_app` is the composition root: it wires settings, the session secret, Flask-Login,
CSRF, the blueprints and the Flask-Admin views. Nothing connects at import time.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import scoped_session

from domain_services.shared.db import get_session_factory
from domain_services.shared.settings import PROJECT_ROOT, Settings, get_settings

ROOT = Path(PROJECT_ROOT)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the console app for ``settings`` (default: the process settings)."""
    from control_plane import admin_views, audit, auth, dashboard, events_stream, kafka_viewer, strangler
    from control_plane.extensions import csrf, login_manager
    from control_plane.roles import can
    from control_plane.secret import load_secret_key

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
    login_manager.init_app(app)
    csrf.init_app(app)
    for blueprint in (auth.bp, dashboard.bp, strangler.bp, audit.bp, kafka_viewer.bp, events_stream.bp):
        app.register_blueprint(blueprint)

    session = scoped_session(get_session_factory(settings.database_url))
    admin_views.init_admin(app, session)
    app.teardown_appcontext(lambda _exc: session.remove())
    app.jinja_env.globals["can"] = can
    _register_error_pages(app)
    return app


def _register_error_pages(app: Flask) -> None:
    """HTML error pages: CSRF failures are 400, a down database is a 503 banner page."""

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return render_template("error.html", code=400, message=f"Form expired or forged: {exc.description}"), 400

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
