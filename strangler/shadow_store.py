"""Shadow ignore rules and mismatch samples as the console and the CLI read and change them.

A rule change writes the ``shadow_rules`` row, a ``flag_audit`` row (``shadow.rule_*``, with
before and after) and ``pg_notify('shadow_rules', <domain>)`` in one transaction, so every
gateway re-reads the rules exactly when the change commits. Samples are written by the
gateways (:mod:`strangler.shadow_contract`); this module only reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import func, select, text

from kernel.db import read_session, unit_of_work
from kernel.errors import InvalidInput, NotFound
from kernel.models import FlagAudit
from strangler import shadow_report
from strangler.flags import validate_domain
from strangler.models import ShadowRule, ShadowSample
from strangler.shadow_contract import RULES_CHANNEL
from strangler.shadow_diff import RULE_MODES, Rule, RulePathError, validate_rule

ACTION_ADDED = "shadow.rule_added"
ACTION_CHANGED = "shadow.rule_changed"
ACTION_REMOVED = "shadow.rule_removed"
_NOTIFY = text("SELECT pg_notify(:channel, :domain)")


@dataclass(frozen=True)
class RuleRow:
    """One stored rule."""

    id: int
    domain: str
    path: str
    mode: str
    note: str | None
    created_at: datetime
    created_by: str

    def rule(self) -> Rule:
        """As the differ takes it."""
        return Rule(self.path, self.mode)


def _row(rule: ShadowRule) -> RuleRow:
    return RuleRow(rule.id, rule.domain, rule.path, rule.mode, rule.note, rule.created_at, rule.created_by)


def _state(rule: ShadowRule | None) -> dict[str, Any] | None:
    return None if rule is None else {"path": rule.path, "mode": rule.mode, "note": rule.note}


def list_rules(domain: str, *, url: str | None = None) -> list[RuleRow]:
    """The rules of ``domain``, by path."""
    validate_domain(domain)
    with read_session(url) as session:
        return [_row(r) for r in session.scalars(
            select(ShadowRule).where(ShadowRule.domain == domain).order_by(ShadowRule.path))]


def save_rule(domain: str, path: str, mode: str, actor: str, note: str | None = None, *,
              url: str | None = None) -> RuleRow:
    """Add the rule for ``path`` (or change its mode/note), audited and announced to every gateway."""
    validate_domain(domain)
    try:
        clean = validate_rule(path, mode)
    except RulePathError as exc:
        raise InvalidInput(str(exc)) from None
    note = (note or "").strip()[:500] or None
    with unit_of_work(url) as uow:
        session = uow.session
        rule = session.scalar(select(ShadowRule).where(ShadowRule.domain == domain, ShadowRule.path == clean.path)
                              .with_for_update())
        before = _state(rule)
        if rule is None:
            rule = ShadowRule(domain=domain, path=clean.path, mode=clean.mode, note=note, created_by=actor[:100])
            session.add(rule)
        else:
            rule.mode, rule.note = clean.mode, note
        session.flush()
        action = ACTION_ADDED if before is None else ACTION_CHANGED
        _audit(session, actor, action, domain, before, _state(rule), note)
        return _row(rule)


def remove_rule(domain: str, rule_id: int, actor: str, reason: str | None = None, *,
                url: str | None = None) -> RuleRow:
    """Delete rule ``rule_id`` of ``domain`` (:class:`NotFound` if it is not there), audited and announced."""
    validate_domain(domain)
    with unit_of_work(url) as uow:
        session = uow.session
        rule = session.scalar(select(ShadowRule).where(ShadowRule.id == rule_id, ShadowRule.domain == domain)
                              .with_for_update())
        if rule is None:
            raise NotFound(f"no shadow rule {rule_id} for {domain}")
        row = _row(rule)
        session.delete(rule)
        _audit(session, actor, ACTION_REMOVED, domain, _state(rule), None, reason)
        return row


def _audit(session, actor: str, action: str, domain: str, before: dict[str, Any] | None,
           after: dict[str, Any] | None, reason: str | None) -> None:
    session.add(FlagAudit(actor=actor[:100], action=action, domain=domain, before=before, after=after,
                          reason=(reason or None) and reason[:500]))
    session.execute(_NOTIFY, {"channel": RULES_CHANNEL, "domain": domain})


@dataclass(frozen=True)
class Sample:
    """One stored mismatch sample."""

    id: int
    domain: str
    at: datetime
    target: str
    primary_backend: str
    kind: str
    differences: list[dict[str, Any]]
    monolith_status: int
    service_status: int
    monolith_body: str
    service_body: str
    truncated: bool

    @property
    def paths(self) -> set[tuple[str, str]]:
        """``(normalized path, kind)`` of each difference."""
        return {(d.get("normalized") or d["path"], d["kind"]) for d in self.differences}


def _sample(row: ShadowSample) -> Sample:
    return Sample(row.id, row.domain, row.at, row.target, row.primary_backend, row.kind, row.differences,
                  row.monolith_status, row.service_status, row.monolith_body, row.service_body, row.truncated)


def list_samples(domain: str, limit: int = 50, *, url: str | None = None) -> list[Sample]:
    """The newest samples of ``domain``."""
    validate_domain(domain)
    query = (select(ShadowSample).where(ShadowSample.domain == domain).order_by(ShadowSample.id.desc())
             .limit(max(1, min(int(limit), 1000))))
    with read_session(url) as session:
        return [_sample(r) for r in session.scalars(query)]


def count_samples(domain: str, *, url: str | None = None) -> int:
    """How many samples ``domain`` keeps now."""
    with read_session(url) as session:
        return session.scalar(select(func.count()).select_from(ShadowSample).where(ShadowSample.domain == domain))


def get_sample(domain: str, sample_id: int, *, url: str | None = None) -> Sample:
    """One sample of ``domain`` (:class:`NotFound` when pruned or never there)."""
    validate_domain(domain)
    with read_session(url) as session:
        row = session.scalar(select(ShadowSample).where(ShadowSample.id == sample_id, ShadowSample.domain == domain))
        found = _sample(row) if row is not None else None
    if found is None:
        raise NotFound(f"no shadow sample {sample_id} for {domain} (samples are pruned oldest first)")
    return found


def newest_sample_per_path(samples: list[Sample]) -> dict[tuple[str, str], int]:
    """``(normalized path, kind)`` → id of the newest sample showing it (``samples`` newest first)."""
    found: dict[tuple[str, str], int] = {}
    for sample in samples:
        for key in sample.paths:
            found.setdefault(key, sample.id)
    return found


def report(domain: str, minutes: int, top: int, client: redis.Redis, *, url: str | None = None) -> dict[str, Any]:
    """The shadow report of ``domain`` as data: mismatch rate over ``minutes``, the ``top`` paths
    (count, kind, newest sample id), A/A noise and its suggested rules, the configured rules."""
    counts = shadow_report.read_counts(client, domain, minutes)
    noise = shadow_report.read_noise(client, domain)
    samples = newest_sample_per_path(list_samples(domain, 1000, url=url))
    compared = counts.compared
    paths = [{"path": path, "kind": kind, "count": count, "share": count / compared if compared else 0.0,
              "sample": samples.get((path, kind))}
             for (path, kind), count in counts.paths.most_common(top)]
    return {"domain": domain, "minutes": minutes, "compared": counts.compared,
            "matches": counts.results["match"], "mismatches": counts.results["mismatch"],
            "errors": counts.results["error"], "mismatch_rate": counts.mismatch_rate,
            "kinds": dict(counts.kinds.most_common()), "paths": paths,
            "noise": {"pairs": noise.pairs,
                      "suggested": [{"path": r.path, "mode": r.mode} for r in noise.suggestions]},
            "rules": [{"id": r.id, "path": r.path, "mode": r.mode} for r in list_rules(domain, url=url)]}


__all__ = ["ACTION_ADDED", "ACTION_CHANGED", "ACTION_REMOVED", "RULE_MODES", "RuleRow", "Sample", "count_samples",
           "get_sample", "list_rules", "list_samples", "newest_sample_per_path", "remove_rule", "report",
           "save_rule"]
