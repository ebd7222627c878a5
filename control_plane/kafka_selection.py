"""The topic viewer's query string, parsed once: what to read, and a 400 for anything malformed.

Views never read ``request.args`` themselves; they get a :class:`Selection` (or a
:class:`BadQuery` with a message for the 400 page) and hand it to :func:`read`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from control_plane import kafka_reader
from control_plane.kafka_reader import ReadResult
from control_plane.query import BadQuery, int_arg, text_arg, when_arg

__all__ = ["BadQuery", "Selection", "check_topic", "parse", "read"]

#: Kafka's own rule for topic names.
TOPIC_RE = re.compile(r"[A-Za-z0-9._-]{1,249}")
MAX_OFFSET = 2**63 - 1
MAX_PARTITION = 100_000
MAX_SCAN = 100_000


@dataclass(frozen=True)
class Selection:
    """What the operator asked to see. ``partition`` None = every partition."""

    limit: int = 50
    partition: int | None = None
    offset: int | None = None
    since: datetime | None = None
    q: str = ""
    scan: int = 10_000

    @property
    def is_newest(self) -> bool:
        """Whether this is the default "newest messages" view (what the live tail follows)."""
        return self.offset is None and self.since is None and not self.q

    def describe(self) -> str:
        """One line for the page: what is shown."""
        where = "all partitions" if self.partition is None else f"partition {self.partition}"
        if self.q:
            return f"matches for “{self.q}” in the newest {self.scan} messages of {where}"
        if self.offset is not None:
            return f"partition {self.partition} from offset {self.offset}"
        if self.since is not None:
            return f"{where} from {self.since.isoformat(timespec='seconds')}"
        return f"newest {self.limit} of {where}"


def check_topic(topic: str) -> str:
    """``topic`` if Kafka would accept the name, else :class:`BadQuery`."""
    if not TOPIC_RE.fullmatch(topic):
        raise BadQuery("a topic name has 1-249 letters, digits, '.', '_' or '-'")
    return topic


def parse(args: Any) -> Selection:
    """A :class:`Selection` from query parameters; :class:`BadQuery` for anything malformed.

    An offset means one partition's position, so seeking to one needs a partition: with "all"
    it would silently read partition 0.
    """
    selection = Selection(
        limit=int_arg(args, "limit", 50, 1, kafka_reader.MAX_LIMIT),
        partition=int_arg(args, "partition", None, 0, MAX_PARTITION),
        offset=int_arg(args, "offset", None, 0, MAX_OFFSET),
        since=when_arg(args, "since"),
        q=text_arg(args, "q"),
        scan=int_arg(args, "scan", 10_000, 1, MAX_SCAN),
    )
    if selection.offset is not None and selection.partition is None and not selection.q:
        raise BadQuery("an offset belongs to one partition: choose a partition to read from an offset")
    return selection


def read(topic: str, sel: Selection, *, masked: bool) -> ReadResult:
    """Read what ``sel`` asks for; with ``masked`` a search matches the masked text only (no oracle)."""
    if sel.q:
        return kafka_reader.search(topic, sel.q, sel.limit, sel.scan, partition=sel.partition, masked=masked)
    if sel.offset is not None:
        return kafka_reader.from_offset(topic, sel.partition or 0, sel.offset, sel.limit)
    if sel.since is not None:
        return kafka_reader.from_time(topic, sel.since, sel.limit, partition=sel.partition)
    return kafka_reader.newest(topic, sel.limit, partition=sel.partition)
