"""``/audit``: the audit trail, filtered by kind, domain, operator, action and time (UTC), paginated.

Sign-ins are hidden unless asked for (kind ``logins`` or ``all``); the operator filter matches any
part of the name. Catalogue rows link to their record and carry the domain of their entity.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request, url_for

from control_plane import audit_log
from control_plane.admin_support import RECORD_VIEWS
from control_plane.query import BadQuery, int_arg, text_arg, when_arg
from control_plane.roles import can, requires
from kernel.registry import FLAGGED

bp = Blueprint("audit", __name__)
MAX_PAGE = 100_000


def row_domain(row: dict[str, Any]) -> str:
    """The row's domain, or the domain of the catalogue entity it is about."""
    parts = row["action"].split(".")
    if row["domain"] or parts[0] != "catalogue" or len(parts) < 2:
        return row["domain"] or ""
    return audit_log.ENTITY_DOMAINS.get(parts[1], "")


def record_link(row: dict[str, Any]) -> str | None:
    """The catalogue page of the record a ``catalogue.<entity>.*`` row is about (not after a delete)."""
    parts = row["action"].split(".")
    if len(parts) != 3 or parts[0] != "catalogue" or parts[1] not in RECORD_VIEWS or parts[2] == "deleted":
        return None
    record_id = (row["after"] or {}).get("id") if isinstance(row["after"], dict) else None
    endpoint, permission = RECORD_VIEWS[parts[1]]
    if not isinstance(record_id, int) or not can(permission):
        return None
    return url_for(f"{endpoint}.details_view", id=record_id)


def _filter(args) -> audit_log.AuditFilter:
    """The page's filters from the query string; anything malformed → 400."""
    try:
        return audit_log.AuditFilter(
            domain=text_arg(args, "domain", 32), actor=text_arg(args, "actor", 100), kind=_kind(args),
            action=text_arg(args, "action", 64), since=when_arg(args, "since"), until=when_arg(args, "until"),
            page=int_arg(args, "page", 1, 1, MAX_PAGE), record=int_arg(args, "record", None, 1, 2**31 - 1),
        )
    except BadQuery as exc:
        abort(400, str(exc))


def _kind(args) -> str:
    kind = text_arg(args, "kind", 16) or "changes"
    if kind not in audit_log.KINDS:
        raise BadQuery(f"kind must be one of {', '.join(audit_log.KINDS)}")
    return kind


@bp.route("/audit")
@requires("read")
def page():
    """Filtered audit rows, newest first."""
    flt = _filter(request.args)
    result = audit_log.search(flt)
    query = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("audit.html", result=result, flt=flt, args=request.args, query=query,
                           domains=FLAGGED, actions=audit_log.known_actions(), kinds=audit_log.KINDS,
                           row_domain=row_domain, record_link=record_link)
