"""Login and logout."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask.blueprints import BlueprintSetupState
from flask_login import current_user, login_required, login_user, logout_user

from control_plane import operators
from control_plane.extensions import LOGIN_AT, ConsoleUser
from control_plane.login_limits import LoginLimits
from control_plane.security import safe_target
from kernel.errors import TooManyRequests, Unauthorized
from kernel.rate_limit import redis_for_limits

bp = Blueprint("auth", __name__)
LIMITS = "cinemaabyss.console_login_limits"


@bp.record_once
def _install(state: BlueprintSetupState) -> None:
    """On registration: the login windows, over a Redis client of the app's settings."""
    state.app.extensions[LIMITS] = LoginLimits(redis_for_limits(state.app.config["SETTINGS"].redis_url))


def _safe_next(target: str | None) -> str:
    """Only same-site relative redirects after login (no open redirect)."""
    return safe_target(target) or url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the form; on POST verify (throttled), audit, start the session."""
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("dashboard.index"))
        return render_template("login.html")
    username = request.form.get("username", "")
    try:
        info = operators.authenticate(username, request.form.get("password", ""), request.remote_addr or "-",
                                      current_app.extensions[LIMITS])
    except TooManyRequests as exc:
        page = render_template("login.html", error=exc.message, username=username)
        return page, 429, {"Retry-After": str(exc.retry_after or 60)}
    except Unauthorized as exc:
        return render_template("login.html", error=exc.message, username=username), 401
    session.clear()  # a fresh session: nothing from before the login survives (fixation)
    session[LOGIN_AT] = time.time()
    login_user(ConsoleUser(info))
    flash(f"Welcome, {info.username}.", "info")
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End the session and revoke the operator's cookies (POST with CSRF token, so a link cannot log out)."""
    operators.logout(current_user.info, request.remote_addr or "-")
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
