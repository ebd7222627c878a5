"""One date format for the whole console: ``2026-12-05 18:40:10 UTC`` (ISO-like, zone always named).

Pages render times in UTC with the zone spelled out, inside ``<time datetime=...>`` so the
browser can add the operator's local time as a tooltip; filters that take a time say which
zone they read it in (UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime

from markupsafe import Markup

FORMAT = "%Y-%m-%d %H:%M:%S UTC"


def parse(value: str | datetime | float | None) -> datetime | None:
    """An ISO string, a datetime or epoch seconds as an aware UTC datetime (None stays None)."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def text(value: str | datetime | float | None) -> str:
    """``value`` in the console's one format (empty for None)."""
    parsed = parse(value)
    return parsed.strftime(FORMAT) if parsed else ""


def when(value: str | datetime | float | None) -> Markup:
    """``value`` as a ``<time>`` element in the console's format (the script adds the local time as a tooltip)."""
    parsed = parse(value)
    if parsed is None:
        return Markup("")
    return Markup('<time datetime="{}">{}</time>').format(parsed.isoformat(), parsed.strftime(FORMAT))
