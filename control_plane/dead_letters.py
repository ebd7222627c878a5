"""``/kafka/dead-letters``: every dead-letter topic with its messages and why they failed.

Anyone who may read the console sees the page (personal data masked as in the Kafka viewer);
``ops`` and ``admin`` (``kafka.write``) can send a message back to its source topic after a
confirmation page, one message or a selection at once. Sending back produces the same key and
value with the message's own headers (the dead-letter ones dropped, ``republished-from`` added)
and writes one audit row per message. The consumers are idempotent by event id, so a group that
had already handled the event skips it; the group that dead-lettered it handles it again.

Each dead letter shows what became of it (:mod:`control_plane.dead_letter_status`): sent back
when and by whom, and whether the copy failed again. A failure that came from the message
itself is flagged before sending back: unchanged, it will fail the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from control_plane import audit_log, dead_letter_status, kafka_reader
from control_plane.dead_letter_status import Replay
from control_plane.kafka_reader import KafkaUnavailable, Message, TopicNotFound
from control_plane.roles import can, requires
from eventing.dead_letters import DEAD_LETTER_TOPICS, Reason, reason_of, republish_headers, source_topic

bp = Blueprint("dead_letters", __name__, url_prefix="/kafka/dead-letters")

LIMIT = 50
#: Most messages one bulk send-back takes (each is produced and audited on its own).
BULK_LIMIT = 100


@dataclass(frozen=True)
class DeadLetter:
    """A message on a dead-letter topic and the reason in its headers (``None``: not written by a consumer)."""

    message: Message
    reason: Reason | None
    replays: list[Replay] = field(default_factory=list)

    @property
    def poison(self) -> bool:
        """The failure came from the message itself: sent back unchanged it fails again."""
        return dead_letter_status.likely_poison(self.reason.error_class if self.reason else None)

    @property
    def selector(self) -> str:
        """``topic/partition/offset``: the value of its checkbox in a bulk selection."""
        return f"{self.message.topic}/{self.message.partition}/{self.message.offset}"


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


def _with_status(topics: list[DeadLetterTopic]) -> list[DeadLetterTopic]:
    """Each dead letter with its replays, and whether each replay's copy came back as a new dead letter."""
    failed_from = {(d.reason.topic, d.reason.partition, d.reason.offset): (d.message.topic, d.message.partition,
                                                                          d.message.offset)
                   for t in topics for d in t.letters if d.reason}
    found = dead_letter_status.with_outcomes(dead_letter_status.replays(DEAD_LETTER_TOPICS), failed_from)
    return [replace(t, letters=[replace(d, replays=found.get((d.message.topic, d.message.partition,
                                                              d.message.offset), [])) for d in t.letters])
            for t in topics]


@bp.route("", strict_slashes=False)
@requires("read")
def page():
    """The dead-letter topics, newest messages first, with their reasons and what became of them."""
    error, topics = None, []
    try:
        topics = _with_status([_topic(name) for name in DEAD_LETTER_TOPICS])
    except KafkaUnavailable as exc:
        error = str(exc)
    return render_template("dead_letters.html", topics=topics, error=error, confirm=None, bulk=None,
                           can_write=can("kafka.write"))


def waiting() -> list[tuple[str, int]]:
    """``(topic, messages never sent back)`` for every dead-letter topic that has any (raises KafkaUnavailable)."""
    sent_back: dict[str, int] = {}
    for origin in dead_letter_status.replays(DEAD_LETTER_TOPICS):
        sent_back[origin[0]] = sent_back.get(origin[0], 0) + 1
    out = []
    for name in DEAD_LETTER_TOPICS:
        try:
            count = kafka_reader.topic_info(name).count
        except TopicNotFound:
            continue
        if count - sent_back.get(name, 0) > 0:
            out.append((name, count - sent_back.get(name, 0)))
    return out


@bp.route("/summary")
@requires("read")
def summary():
    """A warning line when dead letters wait (the dashboard and the Kafka page load it)."""
    try:
        return render_template("_dead_letter_summary.html", waiting=waiting(), error=None)
    except KafkaUnavailable as exc:
        return render_template("_dead_letter_summary.html", waiting=[], error=str(exc))


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
    return render_template("dead_letters.html", topics=[], error=None, can_write=True, bulk=None,
                           confirm=DeadLetter(message, reason_of(message.headers)),
                           target=source_topic(topic))


def _selection() -> list[tuple[str, int, int]]:
    """The checked dead letters (``topic/partition/offset`` each); 400 when none or malformed."""
    chosen = []
    for raw in request.values.getlist("sel")[:BULK_LIMIT + 1]:
        topic, _, rest = raw.rpartition("/")
        topic, _, partition = topic.rpartition("/")
        if topic not in DEAD_LETTER_TOPICS or not partition.isdigit() or not rest.isdigit():
            abort(400, f"not a dead letter: {raw[:80]}")
        chosen.append((topic, int(partition), int(rest)))
    if not chosen:
        abort(400, "select at least one dead letter")
    if len(chosen) > BULK_LIMIT:
        abort(400, f"at most {BULK_LIMIT} dead letters at once")
    return list(dict.fromkeys(chosen))


@bp.route("/confirm-bulk")
@requires("kafka.write")
def confirm_bulk():
    """The confirmation step before a selection goes back to its source topics."""
    chosen = _selection()
    letters = []
    try:
        for topic, partition, offset in chosen:
            message = kafka_reader.get_message(topic, partition, offset)
            if message is not None:
                letters.append(DeadLetter(_visible(message), reason_of(message.headers)))
    except (KafkaUnavailable, TopicNotFound) as exc:
        flash(f"cannot read the selection: {exc}", "error")
        return redirect(url_for("dead_letters.page"))
    return render_template("dead_letters.html", topics=[], error=None, can_write=True, confirm=None,
                           bulk=letters)


@bp.route("/republish-bulk", methods=["POST"])
@requires("kafka.write")
def republish_bulk():
    """Send a confirmed selection back, one produce and one audit row per message."""
    sent, failed = 0, []
    for topic, partition, offset in _selection():
        try:
            if _send_back(topic, partition, offset, bulk=True) is None:
                failed.append(f"{topic}/{partition}/{offset}: gone")
            else:
                sent += 1
        except (KafkaUnavailable, TopicNotFound) as exc:
            failed.append(f"{topic}/{partition}/{offset}: {exc}")
    flash(f"sent {sent} dead letter(s) back" + (f"; {len(failed)} failed: {'; '.join(failed)[:400]}" if failed
                                                else ""), "error" if failed else "info")
    return redirect(url_for("dead_letters.page"))


def _send_back(topic: str, partition: int, offset: int, *, bulk: bool = False) -> tuple[str, int, int] | None:
    """Produce one dead letter again to its source topic and audit it; None when the message is gone."""
    origin = f"{topic}/{partition}/{offset}"
    target = source_topic(topic)
    message = kafka_reader.get_message(topic, partition, offset)
    if message is None:
        return None
    new_partition, new_offset = kafka_reader.produce(target, message.key, message.value,
                                                     republish_headers(message.headers, origin))
    reason = reason_of(message.headers)
    audit_log.record(current_user.username, dead_letter_status.ACTION,
                     before={"topic": topic, "partition": partition, "offset": offset,
                             "group": reason.group if reason else None,
                             "error_class": reason.error_class if reason else None},
                     after={"topic": target, "partition": new_partition, "offset": new_offset},
                     reason="bulk send-back" if bulk else None)
    return target, new_partition, new_offset


@bp.route("/republish", methods=["POST"])
@requires("kafka.write")
def republish():
    """Send one dead letter back to its source topic; audited as ``kafka.dead_letter_republished``."""
    topic, partition, offset = _position()
    origin = f"{topic}/{partition}/{offset}"
    try:
        sent = _send_back(topic, partition, offset)
    except (KafkaUnavailable, TopicNotFound) as exc:
        flash(f"sending {origin} back failed: {exc}", "error")
        return redirect(url_for("dead_letters.page"))
    if sent is None:
        flash(f"no message at {origin}", "error")
    else:
        flash(f"sent {origin} back to {sent[0]} (partition {sent[1]}, offset {sent[2]})", "info")
    return redirect(url_for("dead_letters.page"))
