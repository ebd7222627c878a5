"""Catalogue and account admin (Flask-Admin) whose writes go through the domain services.

Flask-Admin lists, searches, filters, sorts and pages over a scoped session; it never
writes. ``create_model`` / ``update_model`` / ``delete_model`` hand the form data to the
domain service functions, so validation is the domain's and every change writes its outbox
event; a :class:`DomainError` becomes a flash message. Bulk delete is disabled because it
would bypass the domain layer.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.form import BaseForm
from flask_admin.menu import MenuLink
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import scoped_session
from wtforms import DateField, IntegerField, PasswordField, StringField, URLField
from wtforms.validators import Optional

from control_plane import audit_log, operators
from control_plane.admin_support import (
    DateOrDateTimeField,
    FilterConverter,
    attach_error,
    fk_link,
    remember_names,
    snapshot,
)
from control_plane.capped_count import COUNT_CAP, CappedCountQuery, list_pager
from control_plane.masking import PERSONAL_KEY_RE, mask_fields
from control_plane.roles import can
from domain_services.movies import services as movies
from domain_services.movies.models import Movie
from domain_services.payments import services as payments
from domain_services.payments import subscriptions
from domain_services.payments.models import PAYMENT_STATUSES, PLAN_TYPES, Payment, Subscription
from domain_services.users import services as users
from domain_services.users.models import User
from kernel.db import read_session
from kernel.errors import DomainError, InvalidInput
from kernel.models import OPERATOR_ROLES, Operator
from kernel.tokens import ROLES as USER_ROLES


class CsrfAdminForm(BaseForm, FlaskForm):
    """Flask-Admin's form base with Flask-WTF's CSRF token, so the global CSRFProtect accepts its posts."""


#: First characters that make a spreadsheet read a CSV cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(v, v) for v in values]


def _blank_to_none(value: Any) -> Any:
    return None if value in ("", None) else value


def _web_address(url: str | None) -> str | None:
    """``url`` when the domain would accept it as a poster (http or https), else None: a legacy row's
    ``javascript:`` or relative value is never put into an ``<img>``."""
    try:
        return movies.poster_url(url)
    except InvalidInput:
        return None


def _utc_iso(value: datetime) -> str:
    """A form's naive date-time as ISO 8601 UTC (the console shows and takes times in UTC)."""
    return (value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _comparable(value: Any) -> Any:
    """Lists (a movie's genres) compare as sets: their order means nothing to the domain."""
    return sorted(value) if isinstance(value, list) else value


def _to_minute(value: datetime) -> datetime:
    """``value`` in UTC at the date-time field's precision (what the edit form shows)."""
    return value.astimezone(UTC).replace(second=0, microsecond=0)


class DomainModelView(ModelView):
    """A role-gated, read-only-by-ORM model view whose writes call the domain layer."""

    permission = "catalogue"
    entity = "entity"
    form_base_class = CsrfAdminForm
    page_size = 50
    can_set_page_size = False
    # Counts and page numbers, counted up to a cap (control_plane.capped_count): an exact count
    # of a filter over a million movies read every matching row.
    simple_list_pager = False
    list_template = "admin/model/capped_list.html"
    filter_converter = FilterConverter()  # numbers as decimals: an index serves a rating filter
    count_cap = COUNT_CAP
    count_searches = True  # False: a text search shows no total
    can_view_details = True
    details_template = "admin/model/record_details.html"  # the details plus a link to the record's history
    # CSV of the current list (filters, search and sort kept), streamed; CONSOLE_CSV_EXPORT turns
    # it off. Personal data is masked for roles that may not see it; cells that a spreadsheet
    # would run as a formula are defused.
    can_export = True
    export_types = ("csv",)
    export_max_rows = 10_000
    column_default_sort = ("id", True)
    action_disallowed_list = ["delete"]  # bulk delete would bypass the domain services
    edit_fields: tuple[str, ...] | None = None  # None = the create form's fields
    audit_fields: tuple[str, ...] = ("id",)  # what the audit row keeps before and after a change

    def edit_form(self, obj: Any = None) -> Any:
        """The create form minus fields the domain does not let you change."""
        form = super().edit_form(obj)
        if self.edit_fields is not None:
            for name in [f.name for f in form if f.name not in self.edit_fields and f.name != "csrf_token"]:
                del form[name]
        return form

    def is_accessible(self) -> bool:
        """Only roles holding ``permission``."""
        return can(self.permission)

    def get_count_query(self) -> Any:
        """The list's count, capped; None (Flask-Admin then pages by "next") for a search not worth counting."""
        if not self.count_searches and request.args.get("search"):
            return None
        query = CappedCountQuery([func.count("*")], session=self.session()).select_from(self.model)
        query.cap = self.count_cap  # copied to the queries Flask-Admin derives from it
        return query

    def filter_arg(self, column: str, operation: str) -> str:
        """The list URL's argument (``flt0_<index>``) of the filter on ``column`` (``movie_genres.genre``)
        doing ``operation`` (``equals``): the index follows ``column_filters``, so look it up, never write it down."""
        for index, flt in enumerate(self._filters or ()):
            if str(getattr(flt, "column", "")) == column and str(flt.operation()) == operation:
                return f"flt0_{index}"
        raise LookupError(f"no filter {operation} on {column}")

    def render(self, template: str, **kwargs: Any) -> Any:
        """The list page with its capped count: "10,000+ results", numbered pages up to the cap, a link on."""
        if template == self.list_template and kwargs.get("count") is not None and kwargs.get("page_size"):
            pager = list_pager(kwargs["count"], kwargs["page"] or 0, kwargs["page_size"], self.count_cap)
            kwargs.update(count=pager.label, num_pages=pager.num_pages, beyond_page=pager.beyond)
        return super().render(template, **kwargs)

    @expose("/export/<export_type>/")
    def export(self, export_type: str) -> Any:
        """The CSV export (404 when switched off), audited with the list's query."""
        if not self.can_export or export_type not in self.export_types:
            abort(404)
        audit_log.record(current_user.username, f"catalogue.{self.entity}.exported", domain=self._domain(),
                         after={"query": request.query_string.decode("utf-8", "replace")[:500]})
        return super().export(export_type)

    def get_export_value(self, model: Any, name: str) -> Any:
        """A cell of the CSV: personal data masked without ``kafka.unmasked``, formulas defused."""
        value = super().get_export_value(model, name)
        if value is not None and PERSONAL_KEY_RE.search(name) and not can("kafka.unmasked"):
            value = mask_fields({name: str(value)})[name]
        if isinstance(value, str) and value[:1] in FORMULA_STARTS:
            value = "'" + value
        return value

    def inaccessible_callback(self, name: str, **kwargs: Any):
        """Anonymous → login page; logged in without the permission → 403."""
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)

    # subclasses map a form to the domain call's input
    def form_data(self, form: Any, *, creating: bool) -> dict[str, Any]:
        raise NotImplementedError

    def domain_create(self, data: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def domain_update(self, pk: int, data: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def current_data(self, model: Any) -> dict[str, Any]:
        """The record as :meth:`form_data` would give it for an unchanged edit form."""
        raise NotImplementedError

    def changed_data(self, form: Any, model: Any) -> dict[str, Any]:
        """The edit form's fields whose values differ from the record: only these go to the domain.

        Sending an untouched field would not be harmless: a status "changed" to itself is a
        transition, a date shown at minute precision would lose its seconds, re-sending
        ``disabled`` revokes tokens again.
        """
        current = {k: _comparable(v) for k, v in self.current_data(model).items()}
        return {k: v for k, v in self.form_data(form, creating=False).items()
                if k not in current or current[k] != _comparable(v)}

    def domain_delete(self, pk: int) -> None:
        raise NotImplementedError

    def _call(self, action: Callable[[], Any], form: Any = None) -> Any:
        """Run a domain call; on a refusal put the message under its field (or flash it) and return None."""
        try:
            result = action()
        except DomainError as exc:
            if form is None or not attach_error(form, exc.message):
                flash(exc.message, "error")
            else:
                flash("Not saved: see the field marked below.", "error")
            return None
        return result if result is not None else True

    def _fresh(self, pk: int) -> Any:
        """The row as committed now (the domain wrote it in its own session)."""
        self.session.expire_all()
        return self.session.get(self.model, pk)

    def _audit(self, op: str, before: Any, after: Any) -> None:
        audit_log.record(current_user.username, f"catalogue.{self.entity}.{op}", domain=self._domain(),
                         before=snapshot(before, self.audit_fields), after=snapshot(after, self.audit_fields))

    def _domain(self) -> str | None:
        """The domain the entity belongs to (the audit page filters and shows it)."""
        return audit_log.ENTITY_DOMAINS.get(self.entity)

    def create_model(self, form: Any) -> Any:
        """Create through the domain service; returns the new row (Flask-Admin redirects with it)."""
        result = self._call(lambda: self.domain_create(self.form_data(form, creating=True)), form)
        if not result:
            return False
        row = self._fresh(result["id"])
        self._audit("created", None, row)
        return row

    def _unchanged(self, changes: dict[str, Any]) -> bool:
        """True (and the operator told so) when the form holds no change: nothing is saved then."""
        if changes:
            return False
        flash("Nothing changed: the record was left as it was.", "info")
        return True

    def update_model(self, form: Any, model: Any) -> bool:
        """Update the changed fields through the domain service; the audit row holds the record before and after.

        An unchanged form saves nothing and stays on the page (Flask-Admin would announce a save).
        """
        pk, before = model.id, snapshot(model, self.audit_fields)
        changes = self.changed_data(form, model)
        if self._unchanged(changes):
            return False
        if not self._call(lambda: self.domain_update(pk, changes), form):
            return False
        audit_log.record(current_user.username, f"catalogue.{self.entity}.updated", domain=self._domain(),
                         before=before, after=snapshot(self._fresh(pk), self.audit_fields))
        return True

    def delete_model(self, model: Any) -> bool:
        """Delete through the domain service (audited with what was deleted)."""
        pk, before = model.id, snapshot(model, self.audit_fields)
        if not self._call(lambda: self.domain_delete(pk)):
            return False
        audit_log.record(current_user.username, f"catalogue.{self.entity}.deleted", domain=self._domain(),
                         before=before, after=None)
        return True


class MovieView(DomainModelView):
    """Movies with their genres and details (editor and admin)."""

    entity = "movie"
    count_searches = False  # a capped count still reads up to half the titles for a mid-common term
    column_list = ("id", "title", "rating", "genres", "release_date", "duration", "updated_at")
    column_labels = {"duration": "Minutes", "duration_minutes": "Duration (minutes)", "poster_url": "Poster URL",
                     "genres_text": "Genres"}
    column_searchable_list = ("title",)
    column_filters = ("rating", "release_date", "genres.genre")
    column_sortable_list = ("id", "title", "rating", "release_date", "updated_at")
    column_formatters = {"genres": lambda _v, _c, m, _n: ", ".join(g.genre for g in m.genres)}
    column_details_list = ("id", "title", "description", "rating", "genres", "release_date", "duration",
                           "poster_url", "created_at", "updated_at")
    column_formatters_detail = column_formatters
    form_columns = ("title", "description", "rating", "genres_text", "release_date", "duration_minutes",
                    "poster_url")
    audit_fields = ("id", "title", "description", "rating", "genres", "release_date", "duration", "poster_url")
    create_template = "admin/model/movie_create.html"
    edit_template = "admin/model/movie_edit.html"
    form_extra_fields = {
        "genres_text": StringField("Genres", description="comma separated, e.g. Drama, Crime"),
        # html5 inputs: the browser's own date picker; bounds shown from the domain's rules
        "release_date": DateField("Release date", validators=[Optional()]),
        "duration_minutes": IntegerField(
            "Duration (minutes)", validators=[Optional()],
            render_kw={"min": movies.DURATION_MINUTES[0], "max": movies.DURATION_MINUTES[1]}),
        "poster_url": URLField("Poster URL", validators=[Optional()], description="an http:// or https:// address",
                               render_kw={"maxlength": movies.POSTER_URL_MAX}),
    }

    def render(self, template: str, **kwargs: Any) -> Any:
        """The create and edit forms get the genres in use as suggestions."""
        if template in (self.create_template, self.edit_template):
            kwargs["genre_suggestions"] = movies.genre_names()
        if template == self.edit_template and kwargs.get("model") is not None:
            kwargs["poster"] = _web_address(kwargs["model"].poster_url)
        return super().render(template, **kwargs)

    def _apply_search(self, query: Any, count_query: Any, joins: Any, count_joins: Any, search: str) -> Any:
        """The domain's title search: the whole term, as the API's ``search`` takes it.

        Flask-Admin would AND one ``ILIKE`` per word; a word found in most titles then made the
        planner walk the list in id order testing every title (0.3 to 0.8 s at a million movies
        for "movie 0500" with a genre), where the single phrase is a trigram index lookup.
        """
        term = search.strip()
        if term:
            query = query.filter(movies.title_contains(term))
            count_query = count_query.filter(movies.title_contains(term)) if count_query is not None else None
        return query, count_query, joins, count_joins

    def on_form_prefill(self, form: Any, id: Any) -> None:
        """Show the movie's genres and running time in their fields when editing."""
        movie = self.get_one(id)
        form.genres_text.data = ", ".join(g.genre for g in movie.genres)
        form.duration_minutes.data = movie.duration

    def form_data(self, form: Any, *, creating: bool) -> dict[str, Any]:
        """Form → ``{title, description, rating, genres, release_date, duration_minutes, poster_url}``."""
        rating, released = form.rating.data, form.release_date.data
        return {
            "title": form.title.data or "",
            "description": form.description.data or "",
            "rating": float(rating) if rating is not None else None,
            "genres": [g.strip() for g in (form.genres_text.data or "").split(",") if g.strip()],
            "release_date": released.isoformat() if released else None,
            "duration_minutes": form.duration_minutes.data,
            "poster_url": (form.poster_url.data or "").strip() or None,
        }

    def current_data(self, model):
        """The movie as the edit form holds it."""
        return {"title": model.title or "", "description": model.description or "",
                "rating": float(model.rating) if model.rating is not None else None,
                "genres": [g.genre for g in model.genres],
                "release_date": model.release_date.isoformat() if model.release_date else None,
                "duration_minutes": model.duration, "poster_url": model.poster_url or None}

    def domain_create(self, data):
        return movies.create_movie(data)

    def domain_update(self, pk, data):
        return movies.update_movie(pk, data)

    def domain_delete(self, pk):
        return movies.delete_movie(pk)


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
    form_choices = {"role": _choices(USER_ROLES)}
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


class PaymentView(UserNamesMixin, DomainModelView):
    """Payments (admin); editing changes the status along the allowed transitions only."""

    permission = "accounts"
    entity = "payment"
    column_list = ("id", "user_id", "amount", "status", "payment_method", "plan_type", "timestamp")
    column_searchable_list = ("transaction_id", "payment_method")
    column_filters = ("user_id", "status", "amount", "timestamp", "plan_type")
    column_sortable_list = ("id", "user_id", "amount", "status", "timestamp")
    column_formatters = {"user_id": fk_link("user", user_names)}
    column_formatters_detail = column_formatters
    # A payment starts pending (the domain's rule): the create form has no status; editing offers
    # only the moves the domain allows from the current status (payments.TRANSITIONS).
    form_columns = ("user_id", "amount", "status", "payment_method", "plan_type")
    form_choices = {"status": _choices(PAYMENT_STATUSES), "plan_type": [("", "—"), *_choices(PLAN_TYPES)]}
    edit_fields = ("status",)
    audit_fields = ("id", "user_id", "amount", "status", "payment_method", "plan_type")

    def create_form(self, obj: Any = None) -> Any:
        """The create form without ``status``: new payments are pending."""
        form = super().create_form(obj)
        del form["status"]
        return form

    def edit_form(self, obj: Any = None) -> Any:
        """The current status (pre-selected, so saving unchanged changes nothing) and the ones allowed next."""
        form = super().edit_form(obj)
        current = obj.status if obj is not None else None
        if current is None:  # Flask-Admin builds the form before it knows the record: any status
            form.status.choices = _choices(PAYMENT_STATUSES)
            return form
        allowed = payments.TRANSITIONS.get(current, ())
        form.status.choices = [(current, f"{current} (current: no change)"), *_choices(allowed)]
        if form.status.data not in dict(form.status.choices):
            form.status.data = current
        form.status.description = (f"allowed next: {', '.join(allowed)}" if allowed
                                   else f"{current} is final: no change allowed")
        return form

    def current_data(self, model):
        """The payment as the edit form holds it (its status)."""
        return {"status": model.status}

    def form_data(self, form, *, creating):
        """Form → the create payload, or just the new status when editing."""
        if not creating:
            return {"status": form.status.data}
        amount = form.amount.data
        return {k: v for k, v in {
            "user_id": find_user(form.user_id.data), "amount": float(amount) if amount is not None else None,
            "payment_method": _blank_to_none(form.payment_method.data),
            "plan_type": _blank_to_none(form.plan_type.data),
        }.items() if v is not None or k in ("user_id", "amount")}

    def domain_create(self, data):
        return payments.create_payment(data)

    def domain_update(self, pk, data):
        return payments.change_status(pk, data["status"])

    def domain_delete(self, pk):
        return payments.delete_payment(pk)


class SubscriptionView(UserNamesMixin, DomainModelView):
    """Subscriptions (admin)."""

    permission = "accounts"
    entity = "subscription"
    column_list = ("id", "user_id", "plan_type", "start_date", "end_date", "auto_renew")
    column_filters = ("user_id", "plan_type", "start_date", "end_date", "auto_renew")
    column_sortable_list = ("id", "user_id", "plan_type", "start_date", "end_date")
    column_formatters = {"user_id": fk_link("user", user_names)}
    column_formatters_detail = column_formatters
    form_columns = ("user_id", "plan_type", "start_date", "end_date", "auto_renew")
    form_choices = {"plan_type": _choices(PLAN_TYPES)}
    form_overrides = {**UserNamesMixin.form_overrides, "start_date": DateOrDateTimeField,
                      "end_date": DateOrDateTimeField}
    # The domain never moves a subscription to another user, so the edit form does not offer it.
    edit_fields = ("plan_type", "start_date", "end_date", "auto_renew")
    audit_fields = ("id", "user_id", "plan_type", "start_date", "end_date", "auto_renew")

    def form_data(self, form, *, creating):
        """Form → ``{user_id, plan_type, start_date, end_date, auto_renew}`` (ISO strings)."""
        data: dict[str, Any] = {"plan_type": form.plan_type.data, "auto_renew": bool(form.auto_renew.data)}
        if creating:
            data["user_id"] = find_user(form.user_id.data)
        for name in ("start_date", "end_date"):
            value = getattr(form, name).data
            if value is not None or creating:
                data[name] = _utc_iso(value) if value is not None else None
        return data

    def current_data(self, model):
        """The subscription as the edit form shows it: dates at the form's minute precision, in UTC."""
        return {"plan_type": model.plan_type, "auto_renew": bool(model.auto_renew),
                **{name: _utc_iso(_to_minute(getattr(model, name))) for name in ("start_date", "end_date")}}

    def domain_create(self, data):
        return subscriptions.create_subscription(data)

    def domain_update(self, pk, data):
        return subscriptions.update_subscription(pk, data)

    def domain_delete(self, pk):
        return subscriptions.delete_subscription(pk)


class OperatorView(DomainModelView):
    """Console accounts (admin): hashes are made by :mod:`control_plane.operators`, never shown."""

    permission = "operators"
    entity = "operator"
    column_list = ("id", "username", "role", "active", "created_at", "last_login_at")
    column_searchable_list = ("username",)
    column_filters = ("role", "active")
    column_sortable_list = ("id", "username", "role", "created_at", "last_login_at")
    column_details_exclude_list = ("password_hash",)
    form_columns = ("username", "role", "active", "password")
    form_choices = {"role": _choices(OPERATOR_ROLES)}
    form_extra_fields = {"password": PasswordField("Password", description="empty = generate one (create) / "
                                                                           "keep the current one (edit)")}
    edit_fields = ("role", "active", "password")

    def form_data(self, form, *, creating):
        """Form → operator fields."""
        return {"username": form.username.data if creating else None, "role": form.role.data,
                "active": bool(form.active.data), "password": form.password.data or ""}

    def domain_create(self, data):
        password = data["password"] or operators.generate_password()
        info = operators.create_operator(data["username"], data["role"], password, actor=current_user.username)
        if not data["password"]:
            flash(f"generated password for {info.username} (shown once): {password}", "info")
        return {"id": info.id}

    def domain_update(self, pk, data):
        operators.update_operator(pk, {k: data[k] for k in ("role", "active", "password") if k in data},
                                  actor=current_user.username)
        return {"id": pk}

    def current_data(self, model):
        """The account as the edit form holds it (an empty password box keeps the password)."""
        return {"username": None, "role": model.role, "active": bool(model.active), "password": ""}

    def domain_delete(self, pk):
        if pk == current_user.id:
            raise InvalidInput("you cannot delete your own account")
        operators.delete_operator(pk, actor=current_user.username)

    def _audit(self, op, before, after):
        """``operators.*`` already audits as ``operator.created`` / ``operator.changed``."""

    def update_model(self, form, model):
        """Update the changed fields through :mod:`control_plane.operators` (which audits)."""
        pk, changes = model.id, self.changed_data(form, model)
        if self._unchanged(changes):
            return False
        return bool(self._call(lambda: self.domain_update(pk, changes), form))

    def delete_model(self, model):
        """Delete through :mod:`control_plane.operators` (which audits)."""
        pk = model.id
        return bool(self._call(lambda: self.domain_delete(pk)))


class ConsoleIndexView(AdminIndexView):
    """``/admin/``: the catalogue's landing page (editor and admin)."""

    def is_accessible(self) -> bool:
        return can("catalogue") or can("accounts")

    def inaccessible_callback(self, name: str, **kwargs: Any):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)

    @expose("/")
    def index(self):
        return self.render("admin_index.html")


def init_admin(app: Any, session: scoped_session, *, csp_nonce: Callable[[], str], csv_export: bool = True) -> Admin:
    """Register the admin views on ``app`` over ``session``; their scripts carry ``csp_nonce()``;
    ``csv_export`` offers the lists' CSV export."""
    admin = Admin(app, name="CinemaAbyss catalogue", index_view=ConsoleIndexView(url="/admin"),
                  csp_nonce_generator=csp_nonce)
    # Flask-Admin 2.2 deprecates a bare session in favour of a Flask-SQLAlchemy ``db`` (3.0 API);
    # our engine and sessions belong to the shared kernel, so we keep the session until 3.0.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Passing a session object directly", category=DeprecationWarning)
        views = [MovieView(Movie, session, name="Movies", endpoint="movies", category="Catalogue"),
                 UserView(User, session, name="Users", endpoint="users", category="Accounts"),
                 PaymentView(Payment, session, name="Payments", endpoint="payments", category="Accounts"),
                 SubscriptionView(Subscription, session, name="Subscriptions", endpoint="subscriptions",
                                  category="Accounts"),
                 OperatorView(Operator, session, name="Operators", endpoint="operators", category="Console")]
    for view in views:
        view.can_export = csv_export and not isinstance(view, OperatorView)  # console accounts stay inside
        admin.add_view(view)
    admin.add_link(MenuLink(name="← Console", url="/"))
    return admin
