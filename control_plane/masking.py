"""Personal data in Kafka messages, masked for roles without ``kafka.unmasked``.

Masking goes by field name first (any e-mail-like key, in JSON values and header names), then
by pattern (anything that looks like an address). The viewer masks before it shows, searches
or exports, so what is hidden cannot be found by searching for it either.
"""

from __future__ import annotations

import re
from typing import Any

# Deliberately broad (any non-space local part, any domain incl. ``[10.0.0.1]`` literals and
# non-ASCII names): masking too much is harmless, missing an address is a leak.
EMAIL_RE = re.compile(r"""([^\s@"'<>(),;:\\\[\]{}]+)@(\[[^\]\s]*\]|[^\s@"'<>(),;:\\\[\]{}]+)""")
#: JSON keys whose values are personal data whatever they look like.
PERSONAL_KEY_RE = re.compile(r"e[-_]?mail", re.IGNORECASE)


def mask(text: str) -> str:
    """``alice@example.com`` → ``a***@example.com`` wherever an address appears in ``text``."""
    return EMAIL_RE.sub(lambda m: f"{_hide(m.group(1))}@{m.group(2)}", text)


def _hide(local: str) -> str:
    """An address's local part reduced to its first character (nothing of a one-character one)."""
    return f"{local[0]}***" if len(local) > 1 else "***"


def mask_fields(value: Any, personal: bool = False) -> Any:
    """A copy of parsed JSON with every value under an e-mail-like key masked, other strings by pattern."""
    if isinstance(value, dict):
        return {k: mask_fields(v, personal or bool(PERSONAL_KEY_RE.search(str(k)))) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_fields(v, personal) for v in value]
    if isinstance(value, str):
        if personal:
            local, at, domain = value.partition("@")
            return f"{_hide(local)}@{domain}" if at and local and not domain.startswith("[") else "***"
        return mask(value)
    return value
