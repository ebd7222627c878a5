"""``/``: migration health per domain (live and over time), outbox backlog, dependency banner."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request
from redis import RedisError
from sqlalchemy.exc import SQLAlchemyError

from control_plane import migration_health, traffic
from control_plane.clients import app_settings
from control_plane.health import dependency_status
from control_plane.roles import requires
from eventing.outbox_stats import outbox_stats
from strangler import flags, rollouts
from strangler.traffic_history import RANGES

bp = Blueprint("dashboard", __name__)
log = logging.getLogger(__name__)


def _outbox_stats() -> dict[str, Any] | None:
    """Outbox backlog; None while the database is unavailable (the page still renders)."""
    try:
        return outbox_stats()
    except SQLAlchemyError as exc:
        log.warning("outbox stats unavailable: %s", exc)
        return None


def _flags() -> list[dict[str, Any]] | None:
    try:
        return flags.list_flags(settings=app_settings())
    except SQLAlchemyError as exc:
        log.warning("flags unavailable: %s", exc)
        return None


def _health(flag_list: list[dict[str, Any]] | None) -> list[migration_health.DomainHealth] | None:
    """Every domain's migration health; None while Redis or PostgreSQL is unavailable."""
    try:
        plans = {f["domain"]: rollouts.get_plan(f["domain"]) for f in flag_list or []}
        return migration_health.overview(flag_list or [], plans)
    except (RedisError, SQLAlchemyError) as exc:
        log.warning("migration health unavailable: %s", exc)
        return None


def _cards() -> dict[str, Any]:
    flag_list = _flags()
    return {"flags": flag_list, "health": _health(flag_list), "outbox": _outbox_stats()}


@bp.route("/")
@requires("read")
def index():
    """The dashboard page; the charts fill themselves from :func:`history_json`."""
    return render_template("dashboard.html", **_cards(), domains=list(migration_health.ROUTES), ranges=list(RANGES),
                           chosen=request.args.get("domain") if request.args.get("domain") in
                           migration_health.ROUTES else next(iter(migration_health.ROUTES)))


@bp.route("/dashboard/flags")
@requires("read")
def flags_fragment():
    """The health table and the outbox card, re-polled by htmx."""
    return render_template("_dashboard_cards.html", **_cards())


@bp.route("/dashboard/<domain>/health")
@requires("read")
def domain_health(domain: str):
    """One domain's health line (the strangler card polls it)."""
    if domain not in migration_health.ROUTES:
        abort(404)
    flag = next((f for f in _flags() or [] if f["domain"] == domain), None)
    try:
        plans = {domain: rollouts.get_plan(domain)} if flag else {}
        health = migration_health.overview([flag] if flag else [], plans, only=domain)[0]
    except (RedisError, SQLAlchemyError) as exc:
        log.warning("migration health unavailable: %s", exc)
        health = None
    return render_template("_domain_health.html", h=health, domain=domain)


@bp.route("/dashboard/history.json")
@requires("read")
def history_json():
    """One domain's charts over ``range`` (``5m`` | ``1h`` | ``24h``); 400 for an unknown domain or range."""
    domain, span = request.args.get("domain", ""), request.args.get("range", "5m")
    if domain not in migration_health.ROUTES or span not in RANGES:
        return jsonify({"error": f"domain must be one of {', '.join(migration_health.ROUTES)} and range one of "
                                 f"{', '.join(RANGES)}"}), 400
    flag = next((f for f in _flags() or [] if f["domain"] == domain), None)
    try:
        return jsonify(migration_health.chart(domain, span, flag))
    except SQLAlchemyError as exc:
        log.warning("traffic history unavailable: %s", exc)
        return jsonify({"error": "traffic history unavailable: PostgreSQL is unreachable"}), 503


@bp.route("/dashboard/traffic.json")
@requires("read")
def traffic_json():
    """The last 60 s of proxy counters; 503 with an error when Redis is down."""
    try:
        return jsonify(traffic.series())
    except RedisError as exc:
        return jsonify({"error": f"Redis unavailable: {exc}"}), 503


@bp.route("/status")
@requires("read")
def status_banner():
    """The dependency banner fragment (empty when everything is up)."""
    return render_template("_status_banner.html", status=dependency_status())
