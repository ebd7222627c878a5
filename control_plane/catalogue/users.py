"""The users domain's console view, and the user lookups other accounts views share."""

from __future__ import annotations

from typing import Any

from flask_admin.contrib.sqla import ModelView
from sqlalchemy import func, select
from sqlalchemy.orm import scoped_session
from wtforms import StringField

from control_plane.admin_support import remember_names
from control_plane.admin_views import DomainModelView, choices
from domain_services.users import services as users
from domain_services.users.models import User
from kernel.db import read_session
from kernel.errors import InvalidInput
from kernel.tokens import ROLES as USER_ROLES


class UserView(DomainModelView):
    """End-user accounts (admin)."""

    permission = "accounts"
    entity = "user"
    column_list = ("id", "username", "email", "role", "disabled", "created_at")
    column_searchable_list = ("username", "email")
    column_filters = ("created_at", "role", "disabled")
    column_sortable_list = ("id", "username", "email", "role", "created_at")
    column_exclude_list = ("password_hash",)
    column_details_exclude_list = ("password_hash",)
    # Roles are granted and accounts disabled on an existing user (the domain revokes the
    # user's tokens then); a new account starts as a plain, enabled user.
    form_columns = ("username", "email", "role", "disabled")
    form_choices = {"role": choices(USER_ROLES)}
    edit_fields = ("username", "email", "role", "disabled")
    audit_fields = ("id", "username", "email", "role", "disabled")

    def create_form(self, obj: Any = None) -> Any:
        """Username and e-mail only."""
        form = super().create_form(obj)
        del form["role"], form["disabled"]
        return form

    def form_data(self, form, *, creating):
        """Form → ``{username, email}`` (+ ``role``, ``disabled`` when editing)."""
        data = {"username": form.username.data or "", "email": form.email.data or ""}
        if not creating:
            data.update(role=form.role.data, disabled=bool(form.disabled.data))
        return data

    def current_data(self, model):
        """The user as the edit form holds it."""
        return {"username": model.username or "", "email": model.email or "", "role": model.role,
                "disabled": bool(model.disabled)}

    def domain_create(self, data):
        return users.create_user(data)

    def domain_update(self, pk, data):
        return users.update_user(pk, data)

    def domain_delete(self, pk):
        return users.delete_user(pk)


def user_names(ids: list[int]) -> dict[int, str]:
    """``{user id: username}`` for ``ids`` in one query."""
    if not ids:
        return {}
    with read_session() as session:
        return dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


def find_user(text: str | None) -> int | str | None:
    """A user id from what the operator typed: an id, a username or an e-mail address.

    Unknown names come back unchanged, so the domain refuses them under the field as it refuses
    an unknown id.
    """
    raw = (text or "").strip()
    if not raw or (raw.isascii() and raw.isdigit()):
        return int(raw) if raw else None
    column = User.email if "@" in raw else User.username
    with read_session() as session:
        found = session.scalar(select(User.id).where(func.lower(column) == raw.lower()))
    if found is None:
        raise InvalidInput(f"user {raw!r} does not exist (type an id, a username or an e-mail address)")
    return found


class UserNamesMixin:
    """A list page of rows with a ``user_id``: their users' names are fetched in one query per page;
    the create form takes the user by id, username or e-mail."""

    form_overrides = {"user_id": StringField}
    form_args = {"user_id": {"label": "User", "description": "id, username or e-mail address"}}

    def get_list(self, *args: Any, **kwargs: Any) -> Any:
        """Flask-Admin's page of rows, plus the names the ``user_id`` column shows."""
        count, rows = super().get_list(*args, **kwargs)
        remember_names("user", user_names(sorted({r.user_id for r in rows if r.user_id is not None})))
        return count, rows



def views(session: scoped_session) -> list[ModelView]:
    """The users domain's views."""
    return [UserView(User, session, name="Users", endpoint="users", category="Accounts")]
