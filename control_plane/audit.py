"""``/audit``: the audit trail, filtered by domain, operator, action and time, paginated."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template, request

from control_plane import audit_log
from control_plane.roles import requires
from domain_services.shared.models import FLAG_DOMAINS

bp = Blueprint("audit", __name__)


def _when(raw: str | None) -> datetime | None:
    """Parse an ``<input type=datetime-local>`` value; junk means "no bound"."""
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if value.tzinfo else value.astimezone()


@bp.route("/audit")
@requires("read")
def page():
    """Filtered audit rows, newest first."""
    args = request.args
    flt = audit_log.AuditFilter(
        domain=args.get("domain", ""), actor=args.get("actor", "").strip(), action=args.get("action", ""),
        since=_when(args.get("since")), until=_when(args.get("until")),
        page=args.get("page", 1, type=int) or 1,
    )
    result = audit_log.search(flt)
    query = {k: v for k, v in args.items() if k != "page" and v}
    return render_template("audit.html", result=result, flt=flt, args=args, query=query,
                           domains=FLAG_DOMAINS, actions=audit_log.known_actions())
