"""Every domain event the system emits: name → (topic, envelope type, action).

Each domain declares its events in its registry entry (``kernel.registry.Domain.events``);
this module turns them into the one table producers look the topic up in, and consumers and
the console's event stream filter by. Names are ``<aggregate>.<action>`` in the past tense
(``movie.created``): the envelope's type and action are the two halves.
"""

from __future__ import annotations

from typing import NamedTuple

from kernel.registry import DOMAINS, TOPICS, topic_of

# Topic names come from the domain registry; these aliases keep the producers readable.
MOVIE_TOPIC = topic_of("movies")
USER_TOPIC = topic_of("users")
PAYMENT_TOPIC = topic_of("payments")
__all__ = ["EVENT_TYPES", "MOVIE_TOPIC", "PAYMENT_TOPIC", "TOPICS", "USER_TOPIC", "EventType", "lookup"]


class EventType(NamedTuple):
    """Where an event goes and how its envelope names it."""

    topic: str
    type: str
    action: str


def _event_type(topic: str, name: str) -> EventType:
    aggregate, _, action = name.partition(".")
    if not aggregate or not action:
        raise ValueError(f"event name {name!r} must be <aggregate>.<action>")
    return EventType(topic, aggregate, action)


EVENT_TYPES: dict[str, EventType] = {
    name: _event_type(d.topic, name) for d in DOMAINS if d.topic for name in d.events
}


def lookup(name: str) -> EventType:
    """The registered event type ``name``; an unknown name is a programming error."""
    try:
        return EVENT_TYPES[name]
    except KeyError:
        raise KeyError(f"unregistered event type {name!r}; add it to its domain's registry entry "
                       "(kernel.registry, events=...)") from None
