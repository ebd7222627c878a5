"""``/kafka``: topics, a topic's messages (newest, seek by offset or time, search, live tail),
consumer groups, produce, republish (after a confirmation), export.

Views translate the query string into a :class:`~control_plane.kafka_selection.Selection`
(malformed → 400 page) and call :mod:`control_plane.kafka_reader`; a down broker renders the
page with a banner instead of failing. Roles without ``kafka.unmasked`` only ever see masked
messages — in the page, the export and the search (which matches the masked text).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from control_plane import audit_log, kafka_groups, kafka_reader, kafka_selection, lag_trend
from control_plane.kafka_reader import KafkaUnavailable, Message, ReadResult, TopicNotFound
from control_plane.kafka_selection import BadQuery, Selection
from control_plane.roles import can, requires
from control_plane.security import safe_target

bp = Blueprint("kafka", __name__, url_prefix="/kafka")


@bp.url_value_preprocessor
def _check_topic(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """A topic name Kafka would refuse (NUL bytes, 300 characters ...) is a 400, not a broker call."""
    if values and "topic" in values:
        try:
            kafka_selection.check_topic(values["topic"])
        except BadQuery as exc:
            abort(400, str(exc))


def _selection() -> Selection:
    try:
        return kafka_selection.parse(request.args)
    except BadQuery as exc:
        abort(400, str(exc))


def _masked() -> bool:
    return not can("kafka.unmasked")


def _visible(result: ReadResult) -> ReadResult:
    """Mask personal data for roles without ``kafka.unmasked``."""
    if not _masked():
        return result
    return ReadResult([m.masked() for m in result.messages], result.scanned, result.complete)


def _groups(topic: str | None = None) -> list[kafka_groups.GroupSummary]:
    return lag_trend.annotate(kafka_groups.group_summaries(current_app.config["SETTINGS"], topic))


def _back(topic: str) -> str:
    """Where a produce/republish returns to: the page it came from (filters kept), else the topic."""
    target = safe_target(request.form.get("next"))
    default = url_for("kafka.topic", topic=topic)
    return target if target and target.startswith(default) else default


@bp.route("", strict_slashes=False)
@requires("read")
def topics():
    """Topics with partitions, offsets and counts, plus consumer groups."""
    error, listing, groups = None, [], []
    try:
        listing = kafka_reader.list_topics()
        groups = _groups()
    except KafkaUnavailable as exc:
        error = str(exc)
    return render_template("kafka_topics.html", topics=listing, groups=groups, error=error)


@bp.route("/<topic>")
@requires("read")
def topic(topic: str):
    """A topic's messages for the current selection and its partitions; the consumer groups
    follow in their own request (:func:`groups_fragment`), so the messages do not wait for them."""
    sel = _selection()
    error, info, result = None, None, ReadResult([], 0)
    try:
        info = kafka_reader.topic_info(topic)
        result = kafka_selection.read(topic, sel, masked=_masked())
    except TopicNotFound:
        abort(404)
    except KafkaUnavailable as exc:
        error = str(exc)
    return render_template("kafka_topic.html", topic=topic, info=info, result=_visible(result), sel=sel,
                           error=error, args=request.args, can_write=can("kafka.write"))


@bp.route("/<topic>/groups")
@requires("read")
def groups_fragment(topic: str):
    """The consumer groups reading ``topic`` (summaries, lag, trend): the slow part of the topic
    page (a broker round trip per group), loaded after the messages."""
    try:
        groups = _groups(topic)
    except KafkaUnavailable as exc:
        return render_template("_kafka_groups.html", groups=[], topic=topic, groups_error=str(exc))
    return render_template("_kafka_groups.html", groups=groups, topic=topic)


@bp.route("/<topic>/messages")
@requires("read")
def messages_fragment(topic: str):
    """The message list only (the live tail merges the rows it has not shown yet)."""
    sel = _selection()
    try:
        result = kafka_selection.read(topic, sel, masked=_masked())
    except TopicNotFound:
        abort(404)
    except KafkaUnavailable as exc:
        return render_template("_kafka_messages.html", result=ReadResult([], 0), sel=sel, error=str(exc),
                               topic=topic, can_write=False)
    return render_template("_kafka_messages.html", result=_visible(result), sel=sel, error=None,
                           topic=topic, can_write=can("kafka.write"))


@bp.route("/<topic>/export.json")
@requires("read")
def export(topic: str):
    """The current selection as a JSON download (masked like the page)."""
    sel = _selection()
    try:
        result = kafka_selection.read(topic, sel, masked=_masked())
    except TopicNotFound:
        abort(404)
    except KafkaUnavailable as exc:
        return Response(json.dumps({"error": str(exc)}), status=503, mimetype="application/json")
    body = {"topic": topic, "selection": sel.describe(), "scanned": result.scanned,
            "messages": [m.as_dict() for m in _visible(result).messages]}
    return Response(json.dumps(body, indent=2, ensure_ascii=False), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{topic}.json"'})


@bp.route("/<topic>/produce", methods=["POST"])
@requires("kafka.write")
def produce(topic: str):
    """Produce a test message (key, value, optional ``name: value`` header lines); back to the same view."""
    form = request.form
    headers = [(k.strip(), v.strip()) for k, _, v in
               (line.partition(":") for line in form.get("headers", "").splitlines() if ":" in line)]
    try:
        partition, offset = kafka_reader.produce(topic, form.get("key") or None, form.get("value", ""),
                                                 [*headers, ("produced-by", current_user.username)])
    except KafkaUnavailable as exc:
        flash(f"produce failed: {exc}", "error")
        return redirect(_back(topic))
    audit_log.record(current_user.username, "kafka.produced", after={"topic": topic, "partition": partition,
                                                                     "offset": offset})
    flash(f"produced to partition {partition} at offset {offset}", "info")
    return redirect(_back(topic))


def _original(topic: str) -> Message | None:
    partition = request.form.get("partition", type=int)
    offset = request.form.get("offset", type=int)
    if partition is None or offset is None or partition < 0 or offset < 0:
        abort(400, "partition and offset are required")
    return kafka_reader.get_message(topic, partition, offset)


@bp.route("/<topic>/republish", methods=["POST"])
@requires("kafka.write")
def republish(topic: str):
    """Produce an existing message again (same key, value and headers, plus ``republished-from``).

    Without ``confirm=yes`` nothing is produced: the page shows the message and asks first.
    """
    try:
        original = _original(topic)
        if original is None:
            flash("no such message (not retained any more?)", "error")
            return redirect(_back(topic))
        if request.form.get("confirm") != "yes":
            return render_template("kafka_republish.html", topic=topic, m=original, back=_back(topic))
        headers = [h for h in original.headers if h[0] != "republished-from"]
        headers.append(("republished-from", f"{topic}/{original.partition}/{original.offset}"))
        new_partition, new_offset = kafka_reader.produce(topic, original.key, original.value, headers)
    except (KafkaUnavailable, TopicNotFound) as exc:
        flash(f"republish failed: {exc}", "error")
        return redirect(_back(topic))
    audit_log.record(current_user.username, "kafka.republished",
                     before={"topic": topic, "partition": original.partition, "offset": original.offset},
                     after={"partition": new_partition, "offset": new_offset})
    flash(f"republished {original.partition}/{original.offset} as {new_partition}/{new_offset}", "info")
    return redirect(_back(topic))
