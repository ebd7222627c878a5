"""``/audit``: the audit trail, filtered by domain, operator, action and time, paginated."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from control_plane import audit_log
from control_plane.query import BadQuery, int_arg, text_arg, when_arg
from control_plane.roles import requires
from kernel.models import FLAG_DOMAINS

bp = Blueprint("audit", __name__)
MAX_PAGE = 100_000


def _filter(args) -> audit_log.AuditFilter:
    """The page's filters from the query string; anything malformed → 400."""
    try:
        return audit_log.AuditFilter(
            domain=text_arg(args, "domain", 32), actor=text_arg(args, "actor", 100),
            action=text_arg(args, "action", 64), since=when_arg(args, "since"), until=when_arg(args, "until"),
            page=int_arg(args, "page", 1, 1, MAX_PAGE),
        )
    except BadQuery as exc:
        abort(400, str(exc))


@bp.route("/audit")
@requires("read")
def page():
    """Filtered audit rows, newest first."""
    flt = _filter(request.args)
    result = audit_log.search(flt)
    query = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("audit.html", result=result, flt=flt, args=request.args, query=query,
                           domains=FLAG_DOMAINS, actions=audit_log.known_actions())
