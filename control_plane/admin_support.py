"""Helpers of the catalogue views: links between records, audit snapshots, errors on the field, dates.

Kept apart from :mod:`control_plane.admin_views` so the views stay declarations.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import g, url_for
from flask_admin.contrib.sqla import filters as sqla_filters
from flask_admin.model import filters as base_filters
from markupsafe import Markup
from wtforms.fields import DateTimeLocalField

from control_plane.masking import mask_fields
from control_plane.roles import can

#: Record kind → (admin endpoint, permission needed to open it).
RECORD_VIEWS: dict[str, tuple[str, str]] = {
    "movie": ("movies", "catalogue"), "user": ("users", "accounts"),
    "payment": ("payments", "accounts"), "subscription": ("subscriptions", "accounts"),
}


def record_url(message: Any) -> str | None:
    """The catalogue page of the record an event is about (its type and key), if the operator may open it."""
    kind = message.parsed.get("type") if isinstance(message.parsed, dict) else None
    key = message.key or ""
    if kind not in RECORD_VIEWS or not key.isascii() or not key.isdigit():
        return None
    endpoint, permission = RECORD_VIEWS[kind]
    return url_for(f"{endpoint}.details_view", id=key) if can(permission) else None


def remember_names(kind: str, names: dict[int, str]) -> None:
    """Keep ``{id: name}`` of ``kind`` records for this request (a list page looks its rows' up in one query)."""
    g.setdefault("fk_names", {}).setdefault(kind, {}).update(names)


def _name(kind: str, record_id: int, lookup: Callable[[list[int]], dict[int, str]] | None) -> str | None:
    known = g.setdefault("fk_names", {}).setdefault(kind, {})
    if record_id not in known and lookup is not None:
        known.update(lookup([record_id]))
    return known.get(record_id)


def fk_link(kind: str, lookup: Callable[[list[int]], dict[int, str]] | None = None) -> Any:
    """A Flask-Admin column formatter showing ``<kind>_id`` by name (``alice (#109)``) as a link to that
    record; text without the permission to open it. ``lookup(ids) -> {id: name}`` finds names not
    remembered for this request (:func:`remember_names`)."""

    def render(_view: Any, _context: Any, model: Any, name: str) -> Markup | str:
        record_id = getattr(model, name)
        if record_id is None:
            return ""
        label = _name(kind, record_id, lookup)
        text = f"{label} (#{record_id})" if label else f"{kind} {record_id}"
        endpoint, permission = RECORD_VIEWS[kind]
        if not can(permission):
            return text
        return Markup('<a class="fk-link" href="{}">{}</a>').format(
            url_for(f"{endpoint}.details_view", id=record_id), text)

    return render


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (list, tuple, set)):
        return sorted(str(getattr(v, "genre", v)) for v in value)
    return value


def snapshot(model: Any, fields: tuple[str, ...]) -> dict[str, Any] | None:
    """``fields`` of ``model`` as JSON values for an audit row; personal data masked by field name."""
    if model is None:
        return None
    return mask_fields({name: _plain(getattr(model, name, None)) for name in fields})


def attach_error(form: Any, message: str) -> bool:
    """Put a domain error under the field it names (``rating must be ...``, ``user 9 does not exist``).

    The field named first in the message takes it (``end_date must not be before start_date``
    belongs under the end date), and raw field names in it read as the form's labels. Returns
    whether a field took it; the caller flashes the message otherwise.
    """
    found: list[tuple[int, int, Any]] = []
    for order, field in enumerate(form):
        name = field.name
        aliases = {name, name.removesuffix("_id"), name.removesuffix("_text"), str(field.label.text).lower()}
        starts = [m.start() for alias in aliases if alias
                  for m in [re.search(rf"(^|[\s'\"]){re.escape(alias)}\b", message, re.IGNORECASE)] if m]
        if starts:
            found.append((min(starts), order, field))
    if not found:
        return False
    field = min(found, key=lambda hit: hit[:2])[2]
    text = _human(form, message)
    field.errors = [*field.errors, text] if isinstance(field.errors, list) else [text]
    return True


def _human(form: Any, message: str) -> str:
    """``message`` with the form's raw field names (``start_date``) replaced by their labels."""
    for field in form:
        if "_" in field.name:
            message = re.sub(rf"\b{re.escape(field.name)}\b", str(field.label.text), message)
    return message


class DateOrDateTimeField(DateTimeLocalField):
    """An ``<input type="datetime-local">`` that also takes a typed date or a date with seconds.

    Replaces Flask-Admin's JavaScript picker, which garbled typed dates; the browser's own
    control gives a picker and typing alike. A date alone means midnight. Values are shown and
    read in UTC (the label says so), whatever the database session's zone.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("tz", UTC)
        kwargs.setdefault("description", "UTC")
        kwargs.setdefault("format", ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
                                     "%Y-%m-%d %H:%M", "%Y-%m-%d"])
        super().__init__(*args, **kwargs)


def _decimal(raw: str) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {raw!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite number: {raw!r}")
    return value


def _with_decimals(flt: type) -> type:
    """``flt`` (a Flask-Admin number filter) taking its value as a Decimal instead of a float."""
    if issubclass(flt, base_filters.BaseFloatListFilter):
        def clean(self: Any, value: str) -> list[Decimal]:
            return [_decimal(v) for v in value.split(",") if v.strip()]
    elif issubclass(flt, base_filters.BaseFloatFilter):
        def clean(self: Any, value: str) -> Decimal:
            return _decimal(value)
    else:
        return flt
    return type(f"Decimal{flt.__name__}", (flt,), {"clean": clean})


class FilterConverter(sqla_filters.FilterConverter):
    """Flask-Admin's filters, with numbers compared as decimals.

    A float is sent as ``double precision``, and ``numeric_column > double`` converts the column
    on every row, so no index serves it: the rating filter read the whole catalogue (0.2 s at a
    million movies to count a rating's ~10,000 movies; 2 ms through ``ix_movies_rating``).
    """

    float_filters = tuple(_with_decimals(f) for f in sqla_filters.FilterConverter.float_filters)
