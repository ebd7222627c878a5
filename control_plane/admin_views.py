"""The console's catalogue and account admin (Flask-Admin): the base view, operators, the index.

Flask-Admin lists, searches, filters, sorts and pages over a scoped session; it never
writes. ``create_model`` / ``update_model`` / ``delete_model`` hand the form data to the
domain service functions, so validation is the domain's and every change writes its outbox
event; a :class:`DomainError` becomes a flash message. Bulk delete is disabled because it
would bypass the domain layer.

Each domain's views live in ``control_plane/catalogue/<domain>.py`` and are registered in the
registry's order (:func:`control_plane.catalogue.domain_views`); this module keeps what they
share and the console's own views.
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
from sqlalchemy import func
from sqlalchemy.orm import scoped_session
from wtforms import PasswordField

from control_plane import audit_log, catalogue, operators
from control_plane.admin_support import FilterConverter, attach_error, snapshot
from control_plane.capped_count import COUNT_CAP, CappedCountQuery, list_pager
from control_plane.masking import PERSONAL_KEY_RE, mask_fields
from control_plane.models import OPERATOR_ROLES, Operator
from control_plane.roles import can
from kernel.errors import DomainError, InvalidInput


class CsrfAdminForm(BaseForm, FlaskForm):
    """Flask-Admin's form base with Flask-WTF's CSRF token, so the global CSRFProtect accepts its posts."""


#: First characters that make a spreadsheet read a CSV cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    """``values`` as a select field's (value, label) pairs."""
    return [(v, v) for v in values]


def blank_to_none(value: Any) -> Any:
    """An empty form value as ``None`` (the domain's "not given")."""
    return None if value in ("", None) else value


def utc_iso(value: datetime) -> str:
    """A form's naive date-time as ISO 8601 UTC (the console shows and takes times in UTC)."""
    return (value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def comparable(value: Any) -> Any:
    """Lists (a movie's genres) compare as sets: their order means nothing to the domain."""
    return sorted(value) if isinstance(value, list) else value


def to_minute(value: datetime) -> datetime:
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
        current = {k: comparable(v) for k, v in self.current_data(model).items()}
        return {k: v for k, v in self.form_data(form, creating=False).items()
                if k not in current or current[k] != comparable(v)}

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
    form_choices = {"role": choices(OPERATOR_ROLES)}
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
        views = [*catalogue.domain_views(session),
                 OperatorView(Operator, session, name="Operators", endpoint="operators", category="Console")]
    for view in views:
        view.can_export = csv_export and not isinstance(view, OperatorView)  # console accounts stay inside
        admin.add_view(view)
    admin.add_link(MenuLink(name="← Console", url="/"))
    return admin
