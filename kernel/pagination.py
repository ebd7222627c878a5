"""Optional ``limit``/``offset`` paging. Without them, lists keep the contract's plain array."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Select

from kernel.validation import query_int, whole_number

MAX_LIMIT = 1000
#: The largest PostgreSQL ``integer``: no row id can be larger.
MAX_ID = 2**31 - 1


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


def parse_page(args: Mapping[str, str]) -> Page:
    """Read ``limit`` (1..1000) and ``offset`` (0..2^31-1) from query arguments (ASCII digits only)."""
    limit = query_int(args, "limit", minimum=1, maximum=MAX_LIMIT)
    offset = query_int(args, "offset") or 0
    return Page(limit=limit, offset=offset)


def parse_id(args: Mapping[str, str], name: str = "id") -> int | None:
    """An optional positive ``integer`` id from the query string (``?id=`` present but empty is refused)."""
    raw = args.get(name)
    if raw is None:
        return None
    return whole_number(raw, name, minimum=1, maximum=MAX_ID)


EVERYTHING = Page()
"""The default window: no limit, no offset (the contract's plain array)."""
