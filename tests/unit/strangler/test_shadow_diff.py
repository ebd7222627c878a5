"""The semantic differ: encoders that agree in meaning, classified differences, rules and noise."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from strangler.shadow_diff import (
    ARRAY_ORDER_ONLY,
    BODY,
    EXTRA,
    HEADER,
    MISSING,
    ORDER_INSENSITIVE,
    STATUS,
    TYPE_CHANGED,
    VALUE_CHANGED,
    Answer,
    Rule,
    RulePathError,
    Rules,
    compare,
    compare_bodies,
    noise_hits,
    parse_path,
    render_path,
    suggest_rules,
    validate_rule,
)

MOVIES = [
    {"id": 1, "title": "Tom & Jerry <Live>", "description": "Café — naïve", "rating": 7.0,
     "genres": ["Comedy", "Animation"]},
    {"id": 2, "title": "Amélie", "description": "Paris", "rating": 8.5, "genres": ["Drama", "Romance"]},
]


def service_encoding(value) -> bytes:
    """How the Python service encodes: UTF-8, no escaping, floats as floats."""
    return json.dumps(value, ensure_ascii=False).encode()


def legacy_encoding(value) -> bytes:
    """Another encoder: ASCII escapes, HTML-safe ``&<>``, integral numbers without ``.0``, other key order."""
    def integral(v):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, list):
            return [integral(x) for x in v]
        if isinstance(v, dict):
            return {k: integral(x) for k, x in reversed(v.items())}
        return v
    text = json.dumps(integral(value), ensure_ascii=True, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e").encode()


def test_two_encoders_of_the_same_answer_have_no_difference():
    ours, theirs = service_encoding(MOVIES), legacy_encoding(MOVIES)
    assert ours != theirs and b"\\u0026" in theirs and b'"rating":7,' in theirs
    assert compare_bodies(theirs, ours).differences == ()
    result = compare(Answer(200, theirs), Answer(200, ours))
    assert result.result == "match" and result.kind == "none"


def test_a_changed_field_is_reported_at_exactly_its_path():
    changed = json.loads(json.dumps(MOVIES))
    changed[1]["title"] = "Amelie"
    result = compare(Answer(200, legacy_encoding(MOVIES)), Answer(200, service_encoding(changed)))
    assert [(d.path, d.kind, d.normalized) for d in result.differences] == [
        ("$[1].title", VALUE_CHANGED, "$[*].title")]
    assert result.differences[0].monolith == '"Amélie"' and result.differences[0].service == '"Amelie"'
    assert result.result == "mismatch" and result.kind == VALUE_CHANGED


def test_genres_in_another_order_are_array_order_only():
    reordered = json.loads(json.dumps(MOVIES))
    for movie in reordered:
        movie["genres"].sort()
    result = compare_bodies(service_encoding(MOVIES), service_encoding(reordered))
    assert [(d.path, d.kind) for d in result.differences] == [("$[0].genres", ARRAY_ORDER_ONLY)]


def test_an_order_insensitive_rule_on_genres_leaves_no_difference():
    reordered = json.loads(json.dumps(MOVIES))
    for movie in reordered:
        movie["genres"].reverse()
    rules = Rules([Rule("$[*].genres", ORDER_INSENSITIVE)])
    assert compare_bodies(legacy_encoding(MOVIES), service_encoding(reordered), rules).differences == ()
    # the rule forgives order, not content
    reordered[0]["genres"] = ["Comedy", "Horror"]
    found = compare_bodies(service_encoding(MOVIES), service_encoding(reordered), rules).differences
    assert [(d.path, d.kind, d.monolith, d.service) for d in found] == [
        ("$[0].genres[1]", MISSING, '"Animation"', None), ("$[0].genres[1]", EXTRA, None, '"Horror"')]


def test_an_ignore_rule_drops_a_path_and_everything_under_it():
    left = {"id": 1, "created_at": "2026-01-01", "meta": {"etag": "a", "n": 1}}
    right = {"id": 1, "created_at": "2026-01-02", "meta": {"etag": "b", "n": 1}}
    rules = Rules([Rule("$.created_at"), Rule("$.meta.etag")])
    assert compare_bodies(json.dumps(left).encode(), json.dumps(right).encode(), rules).differences == ()
    del right["created_at"]
    assert compare_bodies(json.dumps(left).encode(), json.dumps(right).encode(), rules).differences == ()


def test_missing_extra_and_type_changes_are_told_apart():
    left = {"a": 1, "b": True, "c": [1, 2], "d": "x"}
    right = {"a": "1", "b": 1, "c": [1], "e": None}
    result = compare_bodies(json.dumps(left).encode(), json.dumps(right).encode())
    found = {(d.path, d.kind) for d in result.differences}
    assert found == {("$.a", TYPE_CHANGED), ("$.b", TYPE_CHANGED), ("$.c[1]", MISSING), ("$.d", MISSING),
                     ("$.e", EXTRA)}


def test_status_headers_and_non_json_bodies():
    result = compare(Answer(200, b"<html>a</html>", {"content-type": "text/html"}),
                     Answer(404, b"<html>b</html>", {"content-type": "text/plain"}), headers=("content-type",))
    assert [d.kind for d in result.differences] == [STATUS, HEADER, BODY]
    assert result.kind == STATUS
    assert compare(Answer(200, b"same"), Answer(200, b"same")).differences == ()


def test_bodies_over_the_cap_are_compared_as_bytes():
    left, right = service_encoding(MOVIES), legacy_encoding(MOVIES)
    assert [d.kind for d in compare_bodies(left, right, max_bytes=10).differences] == [BODY]


@pytest.mark.parametrize("path, steps", [
    ("$", ()), ("$.a.b", ("a", "b")), ("$[*].genres", ("*", "genres")), ("$.items[0]", ("items", 0)),
    ('$["a key"].x', ("a key", "x")), ("$.*", ("*",)),
])
def test_rule_paths_parse_and_render(path, steps):
    assert parse_path(path) == steps
    assert parse_path(render_path(steps)) == steps


@pytest.mark.parametrize("path", ["", "a.b", "$.", "$[x]", "$..a", "$.a b", "$" + ".a" * 200])
def test_malformed_rule_paths_are_refused(path):
    with pytest.raises(RulePathError):
        parse_path(path)


def test_validate_rule_checks_the_mode_and_renders_the_path_canonically():
    assert validate_rule(" $.*.genres ", ORDER_INSENSITIVE) == Rule("$[*].genres", ORDER_INSENSITIVE)
    with pytest.raises(RulePathError):
        validate_rule("$.a", "sometimes")


def test_paths_that_differ_between_two_monolith_answers_become_suggested_rules():
    hits: Counter[tuple[str, str]] = Counter()
    for stamp in ("a", "b", "c"):
        first = json.dumps([{"id": 1, "served_at": stamp, "tags": ["x", "y"]}]).encode()
        second = json.dumps([{"id": 1, "served_at": stamp + "!", "tags": ["y", "x"]}]).encode()
        hits.update(noise_hits(compare(Answer(200, first), Answer(503, second))))
    hits.update(noise_hits(compare(Answer(200, b'{"once": 1}'), Answer(200, b'{"once": 2}'))))
    assert hits[("$[*].served_at", VALUE_CHANGED)] == 3 and ("status", STATUS) not in hits
    assert suggest_rules(hits, min_hits=2) == [Rule("$[*].served_at"), Rule("$[*].tags", ORDER_INSENSITIVE)]


def test_nan_equals_nan_but_not_a_number_and_true_is_not_one():
    assert compare_bodies(b'{"a": NaN}', b'{"a": NaN}').differences == ()
    assert [d.kind for d in compare_bodies(b'{"a": NaN}', b'{"a": 1}').differences] == [VALUE_CHANGED]
    assert [d.kind for d in compare_bodies(b'{"a": NaN}', b'{"a": 1.5}').differences] == [VALUE_CHANGED]
    assert [d.kind for d in compare_bodies(b'[true]', b'[1]').differences] == [TYPE_CHANGED]
    assert compare_bodies(b'[1, 2.5, "x", null]', b'[1.0, 2.5, "x", null]').differences == ()
