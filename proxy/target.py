"""The canonical request target: decided once, before auth, policy and routing.

Auth, the policy table, the router and the upstream must all see the *same* path, or a
client can be authorised for one path and served another (``//api/movies`` once reached the
monolith with no token: the checks looked at ``/api/…`` prefixes, Flask matched the raw path).
So the gateway parses the target once (RFC 9110 §7.1, RFC 9112 §3.2) and forwards exactly
the canonical path it checked.

Decisions (docs/security.md):

* origin-form ``/path`` is the only form served; the servers reduce absolute-form
  (``http://host/path``) to its path before we see it, and :func:`canonical_path` accepts
  one too. ``*`` (asterisk-form) and anything else → :class:`BadTarget` (400); the gateway
  answers ``OPTIONS *`` itself.
* refused, not repaired: empty segments (``//``; one trailing ``/`` is allowed), dot-segments
  (``.``/``..``, also encoded), encoded ``/`` or ``\\`` (``%2F``, ``%5C``), a literal
  ``\\``, control characters and NUL (raw or encoded), malformed percent-encoding, bytes that
  are not UTF-8, a literal ``%`` (``%25``: no route uses it, and RSGI cannot tell it from a
  malformed escape) and U+FFFD (the mark of a lossy decode).
* canonicalised: percent-encoding is normalised — unreserved characters decoded, everything
  else upper-case ``%XX`` — so ``/api/%6Dovies`` is ``/api/movies`` for every check and for
  the upstream.

Everything here is pure and fast: a path made of plain characters returns unchanged after
one regular-expression match.

The other direction lives here too: :class:`PublicLocations` makes an upstream's absolute
``Location`` (built from its internal address) relative, so no answer reveals where the
services run.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, unquote_to_bytes

from proxy.types import Headers, Responder

#: RFC 3986 ``pchar`` minus ``%``: a path made only of these needs no decoding.
_PLAIN = re.compile(r"(?:/[A-Za-z0-9\-._~!$&'()*+,;=:@]+)+/?")
#: Characters kept literal when re-encoding a decoded segment (unreserved + sub-delims + ``:@``).
_SEGMENT_SAFE = "-._~!$&'()*+,;=:@"
_HEX = frozenset("0123456789abcdefABCDEF")
#: Decoded characters that end the request at once (see the module docstring).
_FORBIDDEN = {"/": "an encoded '/' (%2F)", "\\": "a backslash", "%": "an encoded '%' (%25)",
              "\ufffd": "an invalid byte sequence"}


class BadTarget(Exception):
    """The request target cannot be served; the gateway answers 400 with :attr:`message`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def canonical_path(raw: str) -> str:
    """The canonical, percent-encoded form of the raw (still encoded) request path.

    Raises :class:`BadTarget` for anything the module docstring lists as refused.
    """
    if _PLAIN.fullmatch(raw) and not _has_dot_segment(raw):
        return raw
    path = _origin_form(raw)
    if path == "/":
        return path
    segments = path[1:].split("/")
    last = len(segments) - 1
    out = []
    for index, segment in enumerate(segments):
        if not segment:
            if index == last:  # one trailing slash: "/api/users/"
                out.append("")
                continue
            raise BadTarget("request path has an empty segment ('//')")
        out.append(_canonical_segment(segment))
    return "/" + "/".join(out)


def encode_decoded(path: str) -> str:
    """An already percent-*decoded* path (what RSGI exposes) as a raw path for :func:`canonical_path`.

    Every character that may not appear literally is escaped, ``%``, ``\\`` and controls
    included, so the canonicaliser refuses them exactly as it would their encoded forms.
    Fast when nothing needs escaping.
    """
    if _PLAIN.fullmatch(path):
        return path
    return quote(path, safe="/" + _SEGMENT_SAFE)


def _origin_form(raw: str) -> str:
    """The path of an origin-form or absolute-form target; :class:`BadTarget` for other forms."""
    if raw.startswith("/"):
        return raw
    if raw == "*":
        raise BadTarget("request target '*' is only meaningful for OPTIONS")
    scheme, sep, rest = raw.partition("://")
    if sep and scheme.lower() in ("http", "https"):
        slash = rest.find("/")
        return "/" if slash < 0 else rest[slash:]
    raise BadTarget("request target must be an absolute path ('/…')")


def _has_dot_segment(path: str) -> bool:
    """Whether any ``/``-separated segment is ``.`` or ``..`` (literal)."""
    return "/." in path and any(s in (".", "..") for s in path.split("/"))


def _canonical_segment(segment: str) -> str:
    """One path segment, decoded, checked and re-encoded canonically."""
    if segment.isascii() and segment.isprintable() and "%" not in segment and " " not in segment:
        text = segment
    else:
        text = _decode(segment)
    if text in (".", ".."):
        raise BadTarget("request path has a dot-segment ('.' or '..')")
    for char, what in _FORBIDDEN.items():
        if char in text:
            raise BadTarget(f"request path contains {what}")
    if not text.isprintable():
        raise BadTarget("request path contains a control character")
    return quote(text, safe=_SEGMENT_SAFE)


def _decode(segment: str) -> str:
    """Percent-decode one raw segment strictly (well-formed escapes, UTF-8, no raw controls)."""
    if not segment.isascii():
        raise BadTarget("request path contains a character that must be percent-encoded")
    if not segment.isprintable() or " " in segment:
        raise BadTarget("request path contains a control character or space")
    index = segment.find("%")
    while index >= 0:
        if len(segment) < index + 3 or segment[index + 1] not in _HEX or segment[index + 2] not in _HEX:
            raise BadTarget("request path has malformed percent-encoding")
        index = segment.find("%", index + 3)
    try:
        return unquote_to_bytes(segment).decode("utf-8")
    except UnicodeDecodeError:
        raise BadTarget("request path is not UTF-8 after percent-decoding") from None


def public_location(value: str, internal: tuple[str, ...]) -> str | None:
    """``value`` of a ``Location`` header made relative when it points at an internal base URL.

    ``internal`` holds upstream base URLs (``http://host:port``, no trailing slash). Returns
    ``None`` when ``value`` does not start with one of them (left as it is).
    """
    lowered = value.lower()
    for base in internal:
        if lowered.startswith(base):
            rest = value[len(base):]
            if not rest or rest[0] in "/?#":
                return rest if rest.startswith("/") else "/" + rest
    return None


class PublicLocations:
    """A :class:`~proxy.types.Responder` that never lets an upstream's own address out.

    Upstreams build absolute ``Location`` URLs from the ``Host`` they were called with — the
    internal address. Such a ``Location`` / ``Content-Location`` is rewritten relative to
    the gateway; a redirect body (which repeats the URL) is replaced by a JSON one. A streamed
    body is passed on as it is (redirect bodies are small and come in one piece).
    """

    __slots__ = ("internal", "out")

    def __init__(self, out: Responder, internal: tuple[str, ...]) -> None:
        self.out = out
        self.internal = internal

    def _rewrite(self, headers: Headers) -> str | None:
        """Rewrite internal locations in place; the new ``Location`` when one was rewritten."""
        rewritten = None
        for index, (name, value) in enumerate(headers):
            if name in ("location", "content-location"):
                public = public_location(value, self.internal)
                if public is not None:
                    headers[index] = (name, public)
                    if name == "location":
                        rewritten = public
        return rewritten

    async def full(self, status: int, headers: Headers, body: bytes) -> None:
        """Send a complete response, locations made public."""
        location = self._rewrite(headers)
        if location is not None and 300 <= status < 400 and body:
            headers = [(n, v) for n, v in headers if n not in ("content-length", "content-type")]
            headers.append(("content-type", "application/json"))
            body = json.dumps({"location": location}).encode()
        await self.out.full(status, headers, body)

    async def start(self, status: int, headers: Headers) -> None:
        """Begin a streamed response, locations made public."""
        self._rewrite(headers)
        await self.out.start(status, headers)

    async def chunk(self, data: bytes) -> None:
        """Send one body chunk."""
        await self.out.chunk(data)

    async def finish(self) -> None:
        """End a streamed response."""
        await self.out.finish()
