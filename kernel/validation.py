"""Small, strict input validators shared by every domain.

Each raises :class:`InvalidInput` with a message naming the field, so API clients and
console users get the same wording. ``bool`` is rejected where a number is expected (in
Python ``True`` is an ``int``; in JSON it is not a number).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from kernel.errors import InvalidInput

_MISSING = object()


def require_object(data: Any) -> dict[str, Any]:
    """The request body must be a JSON object."""
    if not isinstance(data, dict):
        raise InvalidInput("request body must be a JSON object")
    return data


def get_field(data: dict[str, Any], name: str, *, required: bool = True) -> Any:
    """The value of ``name``, or ``None`` when optional and absent/null."""
    value = data.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise InvalidInput(f"missing required field: {name}")
        return None
    return value


def text(
    data: dict[str, Any], name: str, *, required: bool = True, max_length: int = 255, allow_empty: bool = False
) -> str | None:
    """A string field, stripped, bounded in length."""
    value = get_field(data, name, required=required)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"field {name} must be a string")
    value = value.strip()
    if not value and not allow_empty:
        raise InvalidInput(f"field {name} must not be empty")
    if len(value) > max_length:
        raise InvalidInput(f"field {name} must be at most {max_length} characters")
    if "\x00" in value:
        raise InvalidInput(f"field {name} must not contain NUL characters")
    return value


def integer(
    data: dict[str, Any], name: str, *, required: bool = True, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    """An integer field within bounds (PostgreSQL ``integer`` range by default)."""
    value = get_field(data, name, required=required)
    if value is None:
        return None
    return check_int(value, name, minimum=minimum, maximum=maximum)


def check_int(value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Validate an already-extracted integer value (also used for query parameters)."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InvalidInput(f"field {name} must be an integer")
    low = -(2**31) if minimum is None else minimum
    high = 2**31 - 1 if maximum is None else maximum
    if not low <= value <= high:
        raise InvalidInput(f"field {name} must be between {low} and {high}")
    return value


def number(
    data: dict[str, Any],
    name: str,
    *,
    required: bool = True,
    minimum: float | None = None,
    maximum: float | None = None,
    places: int = 2,
) -> Decimal | None:
    """A finite JSON number within bounds, returned as a Decimal rounded to ``places``."""
    value = get_field(data, name, required=required)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(f"field {name} must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"field {name} must be a finite number")
    if minimum is not None and value < minimum:
        raise InvalidInput(f"field {name} must be at least {minimum:g}")
    if maximum is not None and value > maximum:
        raise InvalidInput(f"field {name} must be at most {maximum:g}")
    try:
        return Decimal(str(value)).quantize(Decimal(1).scaleb(-places))
    except InvalidOperation:
        raise InvalidInput(f"field {name} is out of range") from None


def boolean(data: dict[str, Any], name: str, *, required: bool = True) -> bool | None:
    """A JSON boolean."""
    value = get_field(data, name, required=required)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise InvalidInput(f"field {name} must be a boolean")
    return value


def timestamp(data: dict[str, Any], name: str, *, required: bool = True) -> datetime | None:
    """An ISO 8601 date or date-time; naive values are taken as UTC."""
    value = get_field(data, name, required=required)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"field {name} must be an ISO 8601 date or date-time string")
    return parse_timestamp(value, name)


def parse_timestamp(value: str, name: str) -> datetime:
    """Parse ``YYYY-MM-DD`` or an ISO 8601 date-time (``Z`` allowed) into an aware datetime."""
    raw = value.strip()
    try:
        if len(raw) == 10:
            parsed = datetime.combine(date.fromisoformat(raw), datetime.min.time())
        else:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"field {name} must be an ISO 8601 date or date-time") from None
    if not 1900 <= parsed.year <= 9000:
        raise InvalidInput(f"field {name} must be between years 1900 and 9000")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def string_list(
    data: dict[str, Any], name: str, *, required: bool = False, max_items: int = 20, max_length: int = 50
) -> list[str]:
    """A list of non-empty strings, stripped and de-duplicated in order."""
    value = get_field(data, name, required=required)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"field {name} must be an array of strings")
    if len(value) > max_items:
        raise InvalidInput(f"field {name} must have at most {max_items} items")
    items: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise InvalidInput(f"field {name} must contain only non-empty strings")
        item = item.strip()
        if len(item) > max_length or "\x00" in item:
            raise InvalidInput(f"items of {name} must be at most {max_length} characters")
        if item not in items:
            items.append(item)
    return items


def choice(data: dict[str, Any], name: str, options: tuple[str, ...], *, required: bool = True) -> str | None:
    """One of ``options``."""
    value = get_field(data, name, required=required)
    if value is None:
        return None
    if value not in options:
        raise InvalidInput(f"field {name} must be one of: {', '.join(options)}")
    return value


def query_text(args: Any, name: str, *, max_length: int = 100) -> str | None:
    """An optional free-text query parameter (search term, filter), bounded and NUL-free."""
    value = args.get(name)
    if value is None or not value.strip():
        return None
    if len(value) > max_length or "\x00" in value:
        raise InvalidInput(f"query parameter {name} must be at most {max_length} characters without NUL")
    return value.strip()
