"""``/shadow``: what the shadow compare found per domain, its ignore rules, and one mismatch side by side.

Everyone who may read the console sees the mismatch rate and the differing paths with their
counts and kinds (the gateways' Redis counters). A sample holds both answers, which may carry
personal data, so the side-by-side page needs the same permission as unmasked Kafka messages
(admin, ops). Rules are changed by admin and ops (``flags.write``) through
:mod:`strangler.shadow_store`: rule row, audit row and ``NOTIFY`` in one transaction.
"""

from __future__ import annotations

import difflib
import json
import logging
from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from redis import RedisError

from control_plane.clients import redis_client
from control_plane.roles import can, requires
from kernel.errors import DomainError, NotFound
from kernel.registry import FLAGGED
from strangler import shadow_store
from strangler.shadow_diff import RULE_MODES

bp = Blueprint("shadow", __name__, url_prefix="/shadow")
log = logging.getLogger(__name__)
WINDOWS = (15, 60, 240, 1440)
SAMPLES_LISTED = 20


def _domain_or_404(domain: str) -> str:
    if domain not in FLAGGED:
        abort(404)
    return domain


def _minutes() -> int:
    minutes = request.args.get("minutes", 60, type=int)
    return minutes if minutes in WINDOWS else 60


@bp.route("", strict_slashes=False)
@requires("read")
def index():
    """The first domain's page (each page links the others)."""
    return redirect(url_for("shadow.page", domain=FLAGGED[0]))


@bp.route("/<domain>")
@requires("read")
def page(domain: str):
    """Mismatch rate, differing paths with counts, kinds and a sample each; A/A noise; rules; newest samples."""
    domain, minutes = _domain_or_404(domain), _minutes()
    report, error = None, None
    try:
        report = shadow_store.report(domain, minutes, 50, redis_client())
    except RedisError as exc:
        log.warning("shadow counters unavailable: %s", exc)
        error = str(exc)
    rules = report["rules"] if report else [{"id": r.id, "path": r.path, "mode": r.mode}
                                            for r in shadow_store.list_rules(domain)]
    return render_template("shadow.html", domain=domain, domains=FLAGGED, minutes=minutes, windows=WINDOWS,
                           report=report, error=error, rules=rules, modes=RULE_MODES,
                           samples=shadow_store.list_samples(domain, SAMPLES_LISTED),
                           kept=shadow_store.count_samples(domain), can_write=can("flags.write"),
                           can_see_bodies=can("kafka.unmasked"))


@dataclass(frozen=True)
class Line:
    """One row of the side-by-side view: a line of each answer and whether it differs."""

    left: str | None
    right: str | None
    changed: bool


def pretty(body: str) -> str:
    """A JSON body indented with sorted keys (so both encoders line up); anything else as it is."""
    try:
        return json.dumps(json.loads(body), indent=2, sort_keys=True, ensure_ascii=False)
    except ValueError:
        return body


def side_by_side(left: str, right: str) -> list[Line]:
    """Aligned lines of two texts, the differing ones marked (difflib's opcodes)."""
    a, b = left.splitlines(), right.splitlines()
    rows: list[Line] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            rows.extend(Line(x, y, False) for x, y in zip(a[i1:i2], b[j1:j2], strict=True))
            continue
        left_part, right_part = a[i1:i2], b[j1:j2]
        for k in range(max(len(left_part), len(right_part))):
            rows.append(Line(left_part[k] if k < len(left_part) else None,
                             right_part[k] if k < len(right_part) else None, True))
    return rows


@bp.route("/<domain>/samples/<int:sample_id>")
@requires("kafka.unmasked")
def sample(domain: str, sample_id: int):
    """One sampled mismatch: its differences and both answers side by side."""
    try:
        found = shadow_store.get_sample(_domain_or_404(domain), sample_id)
    except NotFound:
        abort(404)
    lines = side_by_side(pretty(found.monolith_body), pretty(found.service_body))
    return render_template("shadow_sample.html", domain=domain, sample=found, lines=lines)


@bp.route("/<domain>/rules", methods=["POST"])
@requires("flags.write")
def save_rule(domain: str):
    """Add a rule (or change the mode of an existing path); a note is required (it goes into the audit log)."""
    domain = _domain_or_404(domain)
    form = request.form
    note = (form.get("note") or "").strip()
    if not note:
        flash(f"{domain}: a note is required (it goes into the audit log)", "error")
        return redirect(url_for("shadow.page", domain=domain))
    try:
        rule = shadow_store.save_rule(domain, form.get("path", ""), form.get("mode", ""), current_user.username, note)
    except DomainError as exc:
        flash(f"{domain}: {exc.message}", "error")
    else:
        flash(f"{domain}: rule {rule.path} ({rule.mode}) saved; every gateway applies it now", "info")
    return redirect(url_for("shadow.page", domain=domain))


@bp.route("/<domain>/rules/<int:rule_id>/delete", methods=["POST"])
@requires("flags.write")
def remove_rule(domain: str, rule_id: int):
    """Delete a rule."""
    domain = _domain_or_404(domain)
    try:
        rule = shadow_store.remove_rule(domain, rule_id, current_user.username, request.form.get("note") or None)
    except NotFound:
        abort(404)
    flash(f"{domain}: rule {rule.path} removed", "info")
    return redirect(url_for("shadow.page", domain=domain))
