"""``/``: flags at a glance, outbox backlog, live traffic chart, dependency banner."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify, render_template
from redis import RedisError
from sqlalchemy.exc import SQLAlchemyError

from control_plane import traffic
from control_plane.health import dependency_status
from control_plane.roles import requires
from eventing.outbox_stats import outbox_stats
from strangler import flags

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
        return flags.list_flags()
    except SQLAlchemyError as exc:
        log.warning("flags unavailable: %s", exc)
        return None


@bp.route("/")
@requires("read")
def index():
    """The dashboard page; the chart fills itself from :func:`traffic_json`."""
    return render_template("dashboard.html", flags=_flags(), outbox=_outbox_stats())


@bp.route("/dashboard/flags")
@requires("read")
def flags_fragment():
    """Flag and outbox cards, re-polled by htmx."""
    return render_template("_dashboard_cards.html", flags=_flags(), outbox=_outbox_stats())


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
