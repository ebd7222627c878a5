"""``/kafka/dead-letters``: every dead-letter topic with its messages and why they failed.

Anyone who may read the console sees the page (personal data masked as in the Kafka viewer);
``ops`` and ``admin`` (``kafka.write``) can send a message back to its source topic after a
confirmation page. Sending back produces the same key and value with the message's own
headers (the dead-letter ones dropped, ``republished-from`` added) and writes an audit row.
The consumers are idempotent by event id, so a group that had already handled the event
skips it; the group that dead-lettered it handles it again.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from control_plane import audit_log, kafka_reader
from control_plane.kafka_reader import KafkaUnavailable, Message, TopicNotFound
from control_plane.roles import can, requires
from eventing.dead_letters import DEAD_LETTER_TOPICS, Reason, reason_of, republish_headers, source_topic

bp = Blueprint("dead_letters", __name__, url_prefix="/kafka/dead-letters")

LIMIT = 50


@dataclass(frozen=True)
class DeadLetter:
    """A message on a dead-letter topic and the reason in its headers (``None``: not written by a consumer)."""

    message: Message
    reason: Reason | None


@dataclass(frozen=True)
class DeadLetterTopic:
    """One dead-letter topic: its source, message count and newest messages."""

    name: str
    source: str
    count: int
    letters: list[DeadLetter]


def _visible(message: Message) -> Message:
    return message if can("kafka.unmasked") else message.masked()


def _topic(name: str) -> DeadLetterTopic:
    try:
        info = kafka_reader.topic_info(name)
    except TopicNotFound:  # created by the first consumer that dead-letters a message
        return DeadLetterTopic(name, source_topic(name) or name, 0, [])
    messages = kafka_reader.newest(name, LIMIT).messages if info.count else []
    letters = [DeadLetter(_visible(m), reason_of(m.headers)) for m in messages]
    return DeadLetterTopic(name, source_topic(name) or name, info.count, letters)


def _dead_letter_topic(name: str) -> str:
    if name not in DEAD_LETTER_TOPICS:
        abort(404)
    return name


def _position() -> tuple[str, int, int]:
    """``topic``, ``partition`` and ``offset`` of the selected message (400 when missing)."""
    values = request.values
    partition, offset = values.get("partition", type=int), values.get("offset", type=int)
    if partition is None or offset is None or partition < 0 or offset < 0:
        abort(400, "partition and offset are required")
    return _dead_letter_topic(values.get("topic", "")), partition, offset


@bp.route("", strict_slashes=False)
@requires("read")
def page():
    """The dead-letter topics, newest messages first, with their reasons."""
    error, topics = None, []
    try:
        topics = [_topic(name) for name in DEAD_LETTER_TOPICS]
    except KafkaUnavailable as exc:
        error = str(exc)
    return render_template("dead_letters.html", topics=topics, error=error, confirm=None,
                           can_write=can("kafka.write"))


@bp.route("/confirm")
@requires("kafka.write")
def confirm():
    """The confirmation step before a message is sent back to its source topic."""
    topic, partition, offset = _position()
    try:
        message = kafka_reader.get_message(topic, partition, offset)
    except (KafkaUnavailable, TopicNotFound) as exc:
        flash(f"cannot read {topic}/{partition}/{offset}: {exc}", "error")
        return redirect(url_for("dead_letters.page"))
    if message is None:
        abort(404)
    return render_template("dead_letters.html", topics=[], error=None, can_write=True,
                           confirm=DeadLetter(message, reason_of(message.headers)),
                           target=source_topic(topic))


@bp.route("/republish", methods=["POST"])
@requires("kafka.write")
def republish():
    """Send one dead letter back to its source topic; audited as ``kafka.dead_letter_republished``."""
    topic, partition, offset = _position()
    origin = f"{topic}/{partition}/{offset}"
    target = source_topic(topic)
    try:
        message = kafka_reader.get_message(topic, partition, offset)
        if message is None:
            flash(f"no message at {origin}", "error")
            return redirect(url_for("dead_letters.page"))
        new_partition, new_offset = kafka_reader.produce(target, message.key, message.value,
                                                         republish_headers(message.headers, origin))
    except (KafkaUnavailable, TopicNotFound) as exc:
        flash(f"sending {origin} back failed: {exc}", "error")
        return redirect(url_for("dead_letters.page"))
    reason = reason_of(message.headers)
    audit_log.record(current_user.username, "kafka.dead_letter_republished",
                     before={"topic": topic, "partition": partition, "offset": offset,
                             "group": reason.group if reason else None,
                             "error_class": reason.error_class if reason else None},
                     after={"topic": target, "partition": new_partition, "offset": new_offset})
    flash(f"sent {origin} back to {target} (partition {new_partition}, offset {new_offset})", "info")
    return redirect(url_for("dead_letters.page"))
