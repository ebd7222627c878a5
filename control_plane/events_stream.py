"""``/events``: the on-call stream — newest events of the three domain topics, merged."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from control_plane import kafka_reader
from control_plane.kafka_reader import KafkaUnavailable, Message, TopicNotFound
from control_plane.roles import can, requires
from kernel.event_types import EVENT_TYPES, TOPICS

bp = Blueprint("events", __name__)
PER_TOPIC = 100


def merged_events(event_type: str = "", aggregate: str = "", limit: int = 100) -> tuple[list[Message], list[str]]:
    """Newest events across ``TOPICS`` filtered by ``type.action`` prefix and key; plus per-topic errors."""
    messages: list[Message] = []
    errors: list[str] = []
    for topic in TOPICS:
        try:
            messages.extend(kafka_reader.newest(topic, PER_TOPIC).messages)
        except TopicNotFound:
            errors.append(f"topic {topic} does not exist yet")
        except KafkaUnavailable as exc:
            errors.append(f"{topic}: {exc}")
            break  # the broker is down: one banner, not three timeouts
    if event_type:
        messages = [m for m in messages if m.event_type == event_type or m.event_type.startswith(f"{event_type}.")]
    if aggregate:
        messages = [m for m in messages if m.key == aggregate]
    messages.sort(key=lambda m: m.timestamp_ms, reverse=True)
    return messages[:limit], errors


@bp.route("/events")
@requires("read")
def page():
    """The stream page (and, for htmx polling, just its table)."""
    event_type = request.args.get("type", "").strip()
    aggregate = request.args.get("aggregate", "").strip()
    messages, errors = merged_events(event_type, aggregate)
    if not can("kafka.unmasked"):
        messages = [m.masked() for m in messages]
    template = "_events_table.html" if request.headers.get("HX-Request") else "events.html"
    types = sorted({f"{t.type}.{t.action}" for t in EVENT_TYPES.values()})
    return render_template(template, messages=messages, errors=errors, event_type=event_type, aggregate=aggregate,
                           types=types)
