"""``/kafka``: topics, a topic's messages (newest, seek, search, tail), consumer lag, produce, export.

Views only translate query parameters into :mod:`control_plane.kafka_reader` calls; a down
broker renders the page with a banner instead of failing.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from control_plane import audit_log, kafka_reader
from control_plane.kafka_reader import KafkaUnavailable, ReadResult, TopicNotFound
from control_plane.roles import can, requires

bp = Blueprint("kafka", __name__, url_prefix="/kafka")


def _visible(result: ReadResult) -> ReadResult:
    """Mask personal data for roles without ``kafka.unmasked``."""
    if can("kafka.unmasked"):
        return result
    return ReadResult([m.masked() for m in result.messages], result.scanned, result.complete)


def _read(topic: str, args: Any) -> tuple[ReadResult, str]:
    """Dispatch on the selection in ``args``; returns the messages and a description of the selection."""
    limit = args.get("limit", 50, type=int) or 50
    if args.get("q"):
        scan = args.get("scan", 10_000, type=int) or 10_000
        result = kafka_reader.search(topic, args["q"], limit, min(scan, 100_000))
        return result, f"matches for “{args['q']}” — scanned {result.scanned} newest messages"
    if args.get("offset", "") != "":
        partition = args.get("partition", 0, type=int) or 0
        offset = args.get("offset", 0, type=int) or 0
        return kafka_reader.from_offset(topic, partition, offset, limit), f"partition {partition} from offset {offset}"
    if args.get("since"):
        try:
            when = datetime.fromisoformat(args["since"])
        except ValueError:
            abort(400, "since must be a date and time")
        when = when if when.tzinfo else when.astimezone()
        return kafka_reader.from_time(topic, when, limit), f"from {when.isoformat(timespec='seconds')}"
    return kafka_reader.newest(topic, limit), f"newest {limit}"


@bp.route("", strict_slashes=False)
@requires("read")
def topics():
    """Topics with partitions, offsets and counts, plus consumer groups."""
    error, listing, groups = None, [], []
    try:
        listing = kafka_reader.list_topics()
        groups = kafka_reader.consumer_groups()
    except KafkaUnavailable as exc:
        error = str(exc)
    return render_template("kafka_topics.html", topics=listing, groups=groups, error=error)


@bp.route("/<topic>")
@requires("read")
def topic(topic: str):
    """A topic's messages for the current selection, its partitions and consumer lag."""
    error, info, groups, result, selection = None, None, [], ReadResult([], 0), ""
    try:
        info = kafka_reader.topic_info(topic)
        result, selection = _read(topic, request.args)
        groups = kafka_reader.consumer_groups(topic)
    except TopicNotFound:
        abort(404)
    except KafkaUnavailable as exc:
        error = str(exc)
    return render_template("kafka_topic.html", topic=topic, info=info, result=_visible(result),
                           selection=selection, groups=groups, error=error, args=request.args,
                           can_write=can("kafka.write"))


@bp.route("/<topic>/messages")
@requires("read")
def messages_fragment(topic: str):
    """The message table only (htmx live tail / refresh)."""
    try:
        result, selection = _read(topic, request.args)
    except TopicNotFound:
        abort(404)
    except KafkaUnavailable as exc:
        return render_template("_kafka_messages.html", result=ReadResult([], 0), selection="", error=str(exc),
                               topic=topic, can_write=False)
    return render_template("_kafka_messages.html", result=_visible(result), selection=selection, error=None,
                           topic=topic, can_write=can("kafka.write"))


@bp.route("/<topic>/export.json")
@requires("read")
def export(topic: str):
    """The current selection as a JSON download."""
    try:
        result, selection = _read(topic, request.args)
    except TopicNotFound:
        abort(404)
    except KafkaUnavailable as exc:
        return Response(json.dumps({"error": str(exc)}), status=503, mimetype="application/json")
    body = {"topic": topic, "selection": selection, "scanned": result.scanned,
            "messages": [m.as_dict() for m in _visible(result).messages]}
    return Response(json.dumps(body, indent=2, ensure_ascii=False), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{topic}.json"'})


@bp.route("/<topic>/produce", methods=["POST"])
@requires("kafka.write")
def produce(topic: str):
    """Produce a test message (key, value, optional ``name: value`` header lines)."""
    form = request.form
    headers = [(k.strip(), v.strip()) for k, _, v in
               (line.partition(":") for line in form.get("headers", "").splitlines() if ":" in line)]
    try:
        partition, offset = kafka_reader.produce(topic, form.get("key") or None, form.get("value", ""),
                                                 [*headers, ("produced-by", current_user.username)])
    except KafkaUnavailable as exc:
        flash(f"produce failed: {exc}", "error")
        return redirect(url_for("kafka.topic", topic=topic))
    audit_log.record(current_user.username, "kafka.produced", after={"topic": topic, "partition": partition,
                                                                     "offset": offset})
    flash(f"produced to partition {partition} at offset {offset}", "info")
    return redirect(url_for("kafka.topic", topic=topic))


@bp.route("/<topic>/republish", methods=["POST"])
@requires("kafka.write")
def republish(topic: str):
    """Produce an existing message again (same key, value and headers, plus ``republished-from``)."""
    partition = request.form.get("partition", type=int)
    offset = request.form.get("offset", type=int)
    if partition is None or offset is None:
        abort(400, "partition and offset are required")
    try:
        original = kafka_reader.get_message(topic, partition, offset)
        if original is None:
            flash(f"no message at {partition}/{offset}", "error")
            return redirect(url_for("kafka.topic", topic=topic))
        headers = [h for h in original.headers if h[0] != "republished-from"]
        headers.append(("republished-from", f"{topic}/{partition}/{offset}"))
        new_partition, new_offset = kafka_reader.produce(topic, original.key, original.value, headers)
    except (KafkaUnavailable, TopicNotFound) as exc:
        flash(f"republish failed: {exc}", "error")
        return redirect(url_for("kafka.topic", topic=topic))
    audit_log.record(current_user.username, "kafka.republished",
                     before={"topic": topic, "partition": partition, "offset": offset},
                     after={"partition": new_partition, "offset": new_offset})
    flash(f"republished {partition}/{offset} as {new_partition}/{new_offset}", "info")
    return redirect(url_for("kafka.topic", topic=topic))
