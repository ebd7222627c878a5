"""Query-string values parsed strictly: a malformed one is a :class:`BadQuery` (a 400 page), never a 500.

Every console view that reads numbers or times from ``request.args`` goes through these.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

EARLIEST = datetime(1971, 1, 1, tzinfo=UTC)  # after the epoch in every time zone
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class BadQuery(ValueError):
    """A query parameter the view cannot use (the message goes to the 400 page)."""


def int_arg(args: Any, name: str, default: int | None, low: int, high: int) -> int | None:
    """``args[name]`` as a whole number in ``[low, high]``; ``default`` when absent or empty."""
    raw = (args.get(name) or "").strip()
    if raw == "":
        return default
    if not raw.isascii() or not raw.isdigit():
        raise BadQuery(f"{name} must be a whole number")
    value = int(raw)
    if not low <= value <= high:
        raise BadQuery(f"{name} must be between {low} and {high}")
    return value


def when_arg(args: Any, name: str) -> datetime | None:
    """``args[name]`` as an aware datetime; a value without a zone (``datetime-local``) is UTC, as the
    console shows every time and says next to each time filter. None when empty."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        if not EARLIEST <= value <= LATEST:
            raise ValueError
    except (ValueError, OverflowError):
        raise BadQuery(f"{name} must be a date and time between 1971 and 9000, like 2026-11-25T14:30") from None
    return value


def text_arg(args: Any, name: str, limit: int = 200) -> str:
    """``args[name]`` stripped; longer than ``limit`` or holding control characters → :class:`BadQuery`."""
    value = (args.get(name) or "").strip()
    if len(value) > limit or any(ord(ch) < 0x20 for ch in value):
        raise BadQuery(f"{name} must be at most {limit} printable characters")
    return value
