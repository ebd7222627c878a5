"""Flask extensions of the console, created unbound and initialised by the app factory."""

from __future__ import annotations

from flask_login import LoginManager, UserMixin
from flask_wtf.csrf import CSRFProtect

from control_plane import operators

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to continue."
login_manager.session_protection = "strong"
csrf = CSRFProtect()


class ConsoleUser(UserMixin):
    """The logged-in operator (Flask-Login wrapper around :class:`operators.OperatorInfo`)."""

    def __init__(self, info: operators.OperatorInfo) -> None:
        self.info = info
        self.id = info.id
        self.username = info.username
        self.role = info.role


@login_manager.user_loader
def _load_user(user_id: str) -> ConsoleUser | None:
    info = operators.get_operator(int(user_id))
    return ConsoleUser(info) if info is not None else None
