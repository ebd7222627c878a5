"""Small, strict input validators shared by every domain.

Each raises :class:`InvalidInput` with a message naming the field, so API clients and
console users get the same wording. ``bool`` is rejected where a number is expected (in
Python ``True`` is an ``int``; in JSON it is not a number).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from kernel.errors import InvalidInput

_MISSING = object()
#: Deepest nesting of objects/arrays a request body may have; no contract needs more than a few.
MAX_JSON_DEPTH = 32


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are unique: which duplicate wins differs between parsers."""
    data = dict(pairs)
    if len(data) != len(pairs):
        raise InvalidInput("request body repeats a key in one object")
    return data


def _no_constant(name: str) -> Any:
    raise InvalidInput(f"request body contains {name}, which is not a JSON number")


def _depth(data: Any) -> int:
    """How deeply ``data`` nests lists and dicts (iteratively: no recursion to exhaust)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            node = node.values()
        elif not isinstance(node, list):
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in node if isinstance(child, (dict, list)))
    return deepest


def parse_json(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """A request body as JSON, or :class:`InvalidInput` saying why not.

    Refused: malformed JSON, ``NaN``/``Infinity``, a key repeated within one object, nesting
    deeper than ``max_depth``, and lone UTF-16 surrogates (``"\\ud800"`` parses, but cannot be
    stored or sent as UTF-8).
    """
    too_deep = f"request body is nested too deeply (at most {max_depth} levels)"
    try:
        data = json.loads(raw, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except RecursionError:  # the C scanner gives up near the interpreter's recursion limit
        raise InvalidInput(too_deep) from None
    except (ValueError, UnicodeError):
        raise InvalidInput("request body is not valid JSON") from None
    if _depth(data) > max_depth:
        raise InvalidInput(too_deep)
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeError:
        raise InvalidInput("request body is not valid JSON: it holds a lone surrogate escape") from None
    return data


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


_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def parse_bool(text: str) -> bool:
    """A yes/no word (``1 true yes on`` / ``0 false no off``, any case, spaces around) as a bool.

    The one reader of booleans written as text: environment variables, CLI and form values.
    Anything else raises :class:`ValueError`, so a typo never silently means "off".
    """
    lowered = text.strip().lower()
    if lowered in _TRUE_WORDS:
        return True
    if lowered in _FALSE_WORDS:
        return False
    raise ValueError(f"not a boolean: {text!r}")


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


#: More digits than this cannot be a PostgreSQL ``integer``; refusing them first keeps ``int()``
#: away from attacker-sized strings.
_MAX_DIGITS = 10


def whole_number(raw: str, name: str, *, minimum: int = 0, maximum: int = 2**31 - 1,
                 kind: str = "query parameter") -> int:
    """``raw`` as a whole number in ``[minimum, maximum]``: ASCII digits only, nothing else.

    ``str.isdigit`` and ``int`` accept far more than a client means by a number (superscripts
    fail ``int`` after passing ``isdigit``; other scripts' digits, signs, spaces and ``_`` pass
    both), so the one accepted spelling is ``[0-9]+``. Anything else is :class:`InvalidInput`
    naming ``kind`` and ``name``.
    """
    if not (isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= _MAX_DIGITS):
        raise InvalidInput(f"{kind} {name} must be a whole number between {minimum} and {maximum}")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise InvalidInput(f"{kind} {name} must be between {minimum} and {maximum}")
    return value


def query_int(args: Any, name: str, *, minimum: int = 0, maximum: int = 2**31 - 1) -> int | None:
    """An optional whole-number query parameter (:func:`whole_number`); ``None`` when absent or empty."""
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    return whole_number(raw, name, minimum=minimum, maximum=maximum)


def query_text(args: Any, name: str, *, max_length: int = 100) -> str | None:
    """An optional free-text query parameter (search term, filter), bounded and NUL-free."""
    value = args.get(name)
    if value is None or not value.strip():
        return None
    if len(value) > max_length or "\x00" in value:
        raise InvalidInput(f"query parameter {name} must be at most {max_length} characters without NUL")
    return value.strip()
