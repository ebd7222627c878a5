"""``/events``: the on-call stream — newest events of every domain topic, merged.

The table re-polls every 3 s (paused while the tab is hidden) and is only sent when it changed:
the page tells the server the hash of what it shows (``X-Shown``) and gets ``204 No Content``
when the new table hashes the same, so an idle stream costs a few hundred bytes, not 40 KB.
"""

from __future__ import annotations

import hashlib

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
    table = render_template("_events_table.html", messages=messages, errors=errors)
    shown = hashlib.blake2b(table.encode(), digest_size=8).hexdigest()
    if request.headers.get("HX-Request"):
        if request.headers.get("X-Shown") == shown:
            return "", 204, {"X-Content-Hash": shown}
        return table, 200, {"X-Content-Hash": shown}
    types = sorted({f"{t.type}.{t.action}" for t in EVENT_TYPES.values()})
    aggregates = list(dict.fromkeys(t.type for t in EVENT_TYPES.values()))  # declaration order
    return render_template("events.html", table=table, shown=shown, event_type=event_type, aggregate=aggregate,
                           types=types, aggregates=aggregates, topics=TOPICS)
