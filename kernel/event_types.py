"""Every domain event the system emits, in one place: name → (topic, envelope type, action).

Names are past tense (``movie.created``). Producers look the topic up here; consumers and
the console's event stream use the same table to filter.
"""

from __future__ import annotations

from typing import NamedTuple

from kernel.registry import TOPICS, topic_of

# Topic names come from the domain registry; these aliases keep the table below readable.
MOVIE_TOPIC = topic_of("movies")
USER_TOPIC = topic_of("users")
PAYMENT_TOPIC = topic_of("payments")
__all__ = ["EVENT_TYPES", "MOVIE_TOPIC", "PAYMENT_TOPIC", "TOPICS", "USER_TOPIC", "EventType", "lookup"]


class EventType(NamedTuple):
    """Where an event goes and how its envelope names it."""

    topic: str
    type: str
    action: str


EVENT_TYPES: dict[str, EventType] = {
    "movie.created": EventType(MOVIE_TOPIC, "movie", "created"),
    "movie.updated": EventType(MOVIE_TOPIC, "movie", "updated"),
    "movie.deleted": EventType(MOVIE_TOPIC, "movie", "deleted"),
    "movie.rated": EventType(MOVIE_TOPIC, "movie", "rated"),
    "user.registered": EventType(USER_TOPIC, "user", "registered"),
    "user.created": EventType(USER_TOPIC, "user", "created"),
    "user.updated": EventType(USER_TOPIC, "user", "updated"),
    "user.deleted": EventType(USER_TOPIC, "user", "deleted"),
    "user.logged_in": EventType(USER_TOPIC, "user", "logged_in"),
    "payment.created": EventType(PAYMENT_TOPIC, "payment", "created"),
    "payment.completed": EventType(PAYMENT_TOPIC, "payment", "completed"),
    "payment.pending": EventType(PAYMENT_TOPIC, "payment", "pending"),
    "payment.failed": EventType(PAYMENT_TOPIC, "payment", "failed"),
    "payment.refunded": EventType(PAYMENT_TOPIC, "payment", "refunded"),
    "payment.deleted": EventType(PAYMENT_TOPIC, "payment", "deleted"),
    "subscription.created": EventType(PAYMENT_TOPIC, "subscription", "created"),
    "subscription.updated": EventType(PAYMENT_TOPIC, "subscription", "updated"),
    "subscription.extended": EventType(PAYMENT_TOPIC, "subscription", "extended"),
    "subscription.deleted": EventType(PAYMENT_TOPIC, "subscription", "deleted"),
}


def lookup(name: str) -> EventType:
    """The registered event type ``name``; an unknown name is a programming error."""
    try:
        return EVENT_TYPES[name]
    except KeyError:
        raise KeyError(f"unregistered event type {name!r}; add it to event_types.EVENT_TYPES") from None
