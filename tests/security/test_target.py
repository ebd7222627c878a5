"""The canonical request target (pure): a corpus of raw targets and what each becomes."""

from __future__ import annotations

import asyncio

import pytest

from proxy.target import BadTarget, PublicLocations, canonical_path, encode_decoded, public_location

#: raw target → canonical path (served exactly so by every check and the upstream)
CANONICAL = [
    ("/", "/"),
    ("/api/movies", "/api/movies"),
    ("/api/movies/", "/api/movies/"),
    ("/api/movies/1/ratings", "/api/movies/1/ratings"),
    ("/api/%6Dovies", "/api/movies"),
    ("/api/movies/c%20d/%e2%9c%93", "/api/movies/c%20d/%E2%9C%93"),
    ("/api/movies/caf%C3%A9", "/api/movies/caf%C3%A9"),
    ("/api/.well-known", "/api/.well-known"),
    ("/api/a..b", "/api/a..b"),
    ("/api/x:y@z!$&'()*+,;=", "/api/x:y@z!$&'()*+,;="),
    ("/api/a%3Fb", "/api/a%3Fb"),
    ("/api/a%7Eb", "/api/a~b"),
    ("/api/a\"b", "/api/a%22b"),
    ("http://cinema.example/api/movies", "/api/movies"),
    ("https://cinema.example", "/"),
]

#: raw target → why it is refused (a fragment of the 400 message)
REFUSED = [
    ("//api/movies", "empty segment"),
    ("///api/movies", "empty segment"),
    ("/api//movies", "empty segment"),
    ("/api/movies//", "empty segment"),
    ("/%2Fapi/movies", "'/'"),
    ("/%2fapi/movies", "'/'"),
    ("/api/movies%2F1", "'/'"),
    ("/api%5Cmovies", "backslash"),
    ("/api\\movies", "backslash"),
    ("/api/./movies", "dot-segment"),
    ("/api/../api/movies", "dot-segment"),
    ("/x/..", "dot-segment"),
    ("/api/%2e%2e/api/movies", "dot-segment"),
    ("/api/%2E/movies", "dot-segment"),
    ("/api/.%2e/movies", "dot-segment"),
    ("/api/movies%00", "control"),
    ("/api/movies%0d%0aX-Injected:1", "control"),
    ("/api/movies%7F", "control"),
    ("/api/\x01movies", "control"),
    ("/api/a b", "space"),
    ("/api/%zz", "malformed"),
    ("/api/%4", "malformed"),
    ("/api/movies%", "malformed"),
    ("/api/%FF", "UTF-8"),
    ("/api/%C3", "UTF-8"),
    ("/api/%25", "'%'"),
    ("/api/%EF%BF%BD", "invalid byte"),
    ("/api/\u00e9", "percent-encoded"),
    ("*", "OPTIONS"),
    ("", "absolute path"),
    ("api/movies", "absolute path"),
    ("cinema.example:80", "absolute path"),
    ("ftp://cinema.example/api", "absolute path"),
]


@pytest.mark.parametrize(("raw", "canonical"), CANONICAL)
def test_canonical_targets(raw, canonical):
    assert canonical_path(raw) == canonical
    assert canonical_path(canonical) == canonical  # idempotent


@pytest.mark.parametrize(("raw", "why"), REFUSED)
def test_refused_targets(raw, why):
    with pytest.raises(BadTarget) as refused:
        canonical_path(raw)
    assert why in refused.value.message


@pytest.mark.parametrize(("decoded", "outcome"), [
    ("/api/movies", "/api/movies"),
    ("/api/caf\u00e9", "/api/caf%C3%A9"),
    ("/api/a?b", "/api/a%3Fb"),
    ("//api/movies", None),
    ("/api/a\\b", None),
    ("/api/\x00", None),
    ("/api/%zz", None),        # a decoded '%' cannot be told from a malformed escape
    ("/api/\ufffd", None),     # the server's lossy decode of invalid UTF-8
    ("/api/../x", None),
])
def test_decoded_paths_from_rsgi_get_the_same_checks(decoded, outcome):
    if outcome is None:
        with pytest.raises(BadTarget):
            canonical_path(encode_decoded(decoded))
    else:
        assert canonical_path(encode_decoded(decoded)) == outcome


INTERNAL = ("http://127.0.0.1:8080", "http://movies:8081")


@pytest.mark.parametrize(("location", "public"), [
    ("http://127.0.0.1:8080/api/movies", "/api/movies"),
    ("HTTP://127.0.0.1:8080/api/movies?x=1", "/api/movies?x=1"),
    ("http://127.0.0.1:8080", "/"),
    ("http://127.0.0.1:8080?a=1", "/?a=1"),
    ("http://movies:8081/api/movies/1", "/api/movies/1"),
    ("http://127.0.0.1:80801/x", None),  # another port that merely starts alike
    ("https://pay.example/checkout/1", None),
    ("/api/movies", None),
])
def test_internal_locations_become_relative(location, public):
    assert public_location(location, INTERNAL) == public


class _Sink:
    def __init__(self) -> None:
        self.sent: list = []

    async def full(self, status, headers, body):
        self.sent.append((status, headers, body))

    async def start(self, status, headers):
        self.sent.append((status, headers))

    async def chunk(self, data):
        self.sent.append(data)

    async def finish(self):
        self.sent.append("end")


def test_redirect_body_repeating_the_internal_url_is_replaced():
    sink = _Sink()
    asyncio.run(PublicLocations(sink, INTERNAL).full(
        308, [("location", "http://127.0.0.1:8080/api/movies"), ("content-type", "text/html"),
              ("content-length", "60")], b'<a href="http://127.0.0.1:8080/api/movies">here</a>'))
    status, headers, body = sink.sent[0]
    assert status == 308 and ("location", "/api/movies") in headers
    assert b"127.0.0.1" not in body and ("content-type", "application/json") in headers
    assert not any(name == "content-length" for name, _ in headers)
