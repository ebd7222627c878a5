"""What became of each dead letter: sent back when, by whom, and whether it failed again.

Kafka keeps a dead letter after it is sent back, so its status comes from the audit trail
(``kafka.dead_letter_republished`` rows name the dead letter and where the copy went) and
from the dead-letter topics themselves: a copy that failed again comes back as a new dead
letter whose headers point at the copy's position.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from kernel.db import read_session
from kernel.models import FlagAudit

ACTION = "kafka.dead_letter_republished"
#: Errors that come from the message itself: sent back unchanged, it fails the same way again.
POISON_ERRORS = frozenset({"PoisonMessage", "ValueError", "KeyError", "TypeError", "JSONDecodeError",
                           "UnicodeDecodeError", "ValidationError", "InvalidInput", "InvalidEvent", "IndexError",
                           "AttributeError"})

Position = tuple[str, int, int]


@dataclass(frozen=True)
class Replay:
    """One sending back of a dead letter."""

    at: datetime
    actor: str
    target: Position | None
    failed_again: Position | None = None

    @property
    def result(self) -> str:
        """In words: where the copy went and whether it came back."""
        if self.target is None:
            return "sent back"
        where = f"{self.target[0]} {self.target[1]}/{self.target[2]}"
        if self.failed_again:
            return f"failed again → {self.failed_again[0]} {self.failed_again[1]}/{self.failed_again[2]}"
        return f"sent to {where}; not dead-lettered again"


def replays(topics: Iterable[str]) -> dict[Position, list[Replay]]:
    """Every sending back of a message of ``topics``, oldest first, by the dead letter's position."""
    names = list(topics)
    if not names:
        return {}
    query = (select(FlagAudit.at, FlagAudit.actor, FlagAudit.before, FlagAudit.after)
             .where(FlagAudit.action == ACTION, FlagAudit.before["topic"].astext.in_(names))
             .order_by(FlagAudit.at))
    out: dict[Position, list[Replay]] = {}
    with read_session() as session:
        for at, actor, before, after in session.execute(query):
            try:
                origin = (before["topic"], int(before["partition"]), int(before["offset"]))
                target = (after["topic"], int(after["partition"]), int(after["offset"])) if after else None
            except (KeyError, TypeError, ValueError):
                continue
            out.setdefault(origin, []).append(Replay(at, actor, target))
    return out


def with_outcomes(found: dict[Position, list[Replay]], failed_from: dict[Position, Position]) -> dict[
        Position, list[Replay]]:
    """``found`` with each replay's ``failed_again`` set when a dead letter came from its copy.

    ``failed_from`` maps the source position a dead letter names (its headers) to the dead letter.
    """
    return {origin: [Replay(r.at, r.actor, r.target, failed_from.get(r.target) if r.target else None)
                     for r in items] for origin, items in found.items()}


def likely_poison(error_class: str | None) -> bool:
    """Whether the failure came from the message itself (sending it back unchanged fails again)."""
    return bool(error_class) and error_class.rsplit(".", 1)[-1] in POISON_ERRORS
