"""Flask extensions of the console, created unbound and initialised by the app factory."""

from __future__ import annotations

from flask import Response, flash, redirect, request, session, url_for
from flask_login import LoginManager, UserMixin
from flask_wtf.csrf import CSRFProtect

from control_plane import operators

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to continue."
login_manager.session_protection = "strong"
csrf = CSRFProtect()


@login_manager.unauthorized_handler
def _unauthorized() -> Response:
    """Send anonymous visitors to the login page with a *relative* ``next`` (never a host)."""
    flash(login_manager.login_message, "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


class ConsoleUser(UserMixin):
    """The logged-in operator (Flask-Login wrapper around :class:`operators.OperatorInfo`)."""

    def __init__(self, info: operators.OperatorInfo) -> None:
        self.info = info
        self.id = info.id
        self.username = info.username
        self.role = info.role


#: Session key holding when the session was opened (epoch seconds), checked against logouts.
LOGIN_AT = "login_at"


@login_manager.user_loader
def _load_user(user_id: str) -> ConsoleUser | None:
    login_at = session.get(LOGIN_AT)
    if not isinstance(login_at, (int, float)) or not user_id.isdigit():
        return None  # a cookie from before session versions, or tampered with: log in again
    info = operators.session_operator(int(user_id), float(login_at))
    return ConsoleUser(info) if info is not None else None
