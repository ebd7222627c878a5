"""The audit trail as the console reads and writes it (table ``flag_audit``).

Flag changes are written by ``strangler.flags`` in the flag's own transaction;
this module records the console's other actions (logins, account and catalogue changes,
Kafka produce/republish) and answers the audit page's filtered, paginated queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from kernel.db import read_session, unit_of_work
from kernel.loose_scan import distinct_values
from kernel.models import FlagAudit

PAGE_SIZE = 50
#: Sign-ins and sign-outs: most rows of a busy console, hidden unless asked for.
SESSION_ACTIONS = ("operator.login", "operator.login_failed", "operator.logout")
#: The page's "kind" filter: what changed things, sign-ins only, or everything.
KINDS = ("changes", "logins", "all")
#: The domain of each catalogue entity (``catalogue.<entity>.*`` rows).
ENTITY_DOMAINS = {"movie": "movies", "user": "users", "payment": "payments", "subscription": "payments"}


def record(actor: str, action: str, *, domain: str | None = None, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None, reason: str | None = None) -> None:
    """Write one audit row in its own transaction."""
    with unit_of_work() as uow:
        uow.session.add(FlagAudit(actor=actor[:100], action=action[:64], domain=domain, before=before,
                                  after=after, reason=reason))


def recent_failures(username: str, ip: str, window: timedelta) -> int:
    """Failed logins for ``username`` from ``ip`` within ``window`` since its last successful login.

    Drives login throttling; a successful login from the same address starts the count afresh.
    """
    actor, from_ip = FlagAudit.actor == username[:100], FlagAudit.after["ip"].astext == ip
    last_success = (
        select(func.max(FlagAudit.at)).where(FlagAudit.action == "operator.login", actor, from_ip).scalar_subquery()
    )
    query = (
        select(func.count())
        .select_from(FlagAudit)
        .where(FlagAudit.action == "operator.login_failed", actor, from_ip, FlagAudit.at > func.now() - window,
               FlagAudit.at > func.coalesce(last_success, func.now() - window))
    )
    with read_session() as session:
        return session.scalar(query) or 0


@dataclass(frozen=True)
class AuditFilter:
    """The audit page's filters; empty values mean "any"."""

    domain: str = ""
    actor: str = ""  # a part of the operator's name, any case
    action: str = ""
    kind: str = "changes"  # one of KINDS
    record: int | None = None  # with a ``catalogue.<entity>.`` action: that record's rows
    since: datetime | None = None
    until: datetime | None = None
    page: int = 1


@dataclass(frozen=True)
class AuditPage:
    """One page of audit rows, newest first, and whether another page follows."""

    rows: list[dict[str, Any]]
    page: int
    has_next: bool


def _as_dict(row: FlagAudit) -> dict[str, Any]:
    return {"id": row.id, "at": row.at, "actor": row.actor, "action": row.action, "domain": row.domain,
            "before": row.before, "after": row.after, "reason": row.reason}


def search(flt: AuditFilter) -> AuditPage:
    """Audit rows matching ``flt``; keyset-free offset paging is fine at the page sizes used."""
    page = max(1, flt.page)
    query = search_query(flt).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    with read_session() as session:
        rows = [_as_dict(r) for r in session.scalars(query)]
    return AuditPage(rows=rows[:PAGE_SIZE], page=page, has_next=len(rows) > PAGE_SIZE)


def search_query(flt: AuditFilter) -> Select[tuple[FlagAudit]]:
    """The rows matching ``flt``, newest first (unpaged)."""
    query = select(FlagAudit).order_by(FlagAudit.at.desc(), FlagAudit.id.desc())
    if flt.domain:
        # catalogue rows written before they carried a domain are found by their entity
        entities = [f"catalogue.{e}.%" for e, d in ENTITY_DOMAINS.items() if d == flt.domain]
        query = query.where(or_(FlagAudit.domain == flt.domain,
                                *(and_(FlagAudit.domain.is_(None), FlagAudit.action.like(e)) for e in entities)))
    if flt.actor:
        # ILIKE on the bare column, so the trigram index ``ix_flag_audit_actor_trgm`` serves it
        # (a name matching nothing no longer reads the whole trail)
        pattern = flt.actor.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(FlagAudit.actor.ilike(f"%{pattern}%", escape="\\"))
    if flt.kind == "changes":
        query = query.where(FlagAudit.action.not_in(SESSION_ACTIONS))
    elif flt.kind == "logins":
        query = query.where(FlagAudit.action.in_(SESSION_ACTIONS))
    if flt.action:
        # "flag" matches flag.changed and flag.auto_rollback; a full name matches exactly.
        query = query.where(FlagAudit.action.like(f"{flt.action}%") if flt.action.endswith(".") or "." not in
                            flt.action else FlagAudit.action == flt.action)
    if flt.record is not None:
        key = str(flt.record)
        query = query.where(or_(FlagAudit.after["id"].astext == key, FlagAudit.before["id"].astext == key))
    if flt.since:
        query = query.where(FlagAudit.at >= flt.since)
    if flt.until:
        query = query.where(FlagAudit.at <= flt.until)
    return query


def known_actions() -> list[str]:
    """Distinct actions present, for the filter's drop-down."""
    with read_session() as session:
        # one index probe per action (ix_flag_audit_action_at): DISTINCT took 3.8 s at 10M rows
        return list(session.scalars(distinct_values(FlagAudit.__table__.c.action)))
