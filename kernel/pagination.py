"""Optional ``limit``/``offset`` paging. Without them, lists keep the contract's plain array."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Select

from kernel.errors import InvalidInput

MAX_LIMIT = 1000


@dataclass(frozen=True)
class Page:
    """A requested window: ``limit`` None means everything (legacy behaviour)."""

    limit: int | None = None
    offset: int = 0

    def apply(self, query: Select) -> Select:
        """``query`` restricted to this window."""
        if self.limit is not None:
            query = query.limit(self.limit)
        return query.offset(self.offset)


def _non_negative(args: Mapping[str, str], name: str) -> int | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise InvalidInput(f"query parameter {name} must be a non-negative integer")
    return int(raw)


def parse_page(args: Mapping[str, str]) -> Page:
    """Read ``limit`` (1..1000) and ``offset`` from query arguments."""
    limit = _non_negative(args, "limit")
    offset = _non_negative(args, "offset") or 0
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"query parameter limit must be between 1 and {MAX_LIMIT}")
    if offset > 2**31:
        raise InvalidInput("query parameter offset is too large")
    return Page(limit=limit, offset=offset)


def parse_id(args: Mapping[str, str], name: str = "id") -> int | None:
    """An optional positive integer id from the query string."""
    raw = args.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise InvalidInput(f"query parameter {name} must be a positive integer")
    return int(raw)


EVERYTHING = Page()
"""The default window: no limit, no offset (the contract's plain array)."""
