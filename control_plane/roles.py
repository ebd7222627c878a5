"""Who may do what in the console: one permission table, one decorator.

Every view names the permission it needs; templates ask :func:`can` to decide whether to
render a write control. Nothing else in the console compares role names.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required

from control_plane.models import OPERATOR_ROLES

#: permission → roles holding it.
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset(OPERATOR_ROLES),  # dashboards, audit, Kafka viewer, event stream
    "flags.write": frozenset({"admin", "ops"}),
    "kafka.write": frozenset({"admin", "ops"}),  # produce / republish
    "kafka.unmasked": frozenset({"admin", "ops"}),  # see personal data in messages
    "catalogue": frozenset({"admin", "editor"}),  # movies with genres
    "accounts": frozenset({"admin"}),  # users, payments, subscriptions
    "operators": frozenset({"admin"}),  # console accounts
}


def role_can(role: str | None, permission: str) -> bool:
    """Whether ``role`` holds ``permission`` (unknown permissions are denied)."""
    return role is not None and role in PERMISSIONS.get(permission, frozenset())


def can(permission: str) -> bool:
    """Whether the logged-in operator holds ``permission``."""
    return bool(current_user.is_authenticated) and role_can(current_user.role, permission)


def requires(permission: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """View decorator: anonymous → login redirect; logged in without ``permission`` → 403."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not can(permission):
                abort(403)
            return view(*args, **kwargs)

        return login_required(wrapped)

    return decorator
