"""Pure validators: the wording and edge cases clients depend on."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel import validation as v
from kernel.errors import InvalidInput
from kernel.pagination import Page, parse_id, parse_page


def test_number_rejects_booleans_and_non_finite():
    with pytest.raises(InvalidInput, match="must be a number"):
        v.number({"amount": True}, "amount")
    with pytest.raises(InvalidInput, match="finite"):
        v.number({"amount": float("inf")}, "amount")
    assert v.number({"amount": 12.5}, "amount", places=2) == Decimal("12.50")


def test_missing_and_wrong_type_are_named():
    with pytest.raises(InvalidInput, match="missing required field: title"):
        v.text({}, "title")
    with pytest.raises(InvalidInput, match="field title must be a string"):
        v.text({"title": 5}, "title")


def test_integer_bounds_protect_the_database_column():
    with pytest.raises(InvalidInput, match="between"):
        v.integer({"user_id": 2**40}, "user_id")
    assert v.integer({"user_id": 3.0}, "user_id") == 3


def test_timestamp_accepts_dates_and_zulu_and_assumes_utc():
    assert v.timestamp({"d": "2026-01-02"}, "d").isoformat() == "2026-01-02T00:00:00+00:00"
    assert v.timestamp({"d": "2026-01-02T03:04:05Z"}, "d").isoformat() == "2026-01-02T03:04:05+00:00"
    with pytest.raises(InvalidInput):
        v.timestamp({"d": "tomorrow"}, "d")


def test_string_list_deduplicates_and_bounds():
    assert v.string_list({"g": [" Drama", "Drama", "Crime"]}, "g") == ["Drama", "Crime"]
    with pytest.raises(InvalidInput):
        v.string_list({"g": "Drama"}, "g")


def test_paging_is_optional_and_bounded():
    assert parse_page({}) == Page()
    assert parse_page({"limit": "10", "offset": "20"}) == Page(10, 20)
    for bad in ({"limit": "0"}, {"limit": "-1"}, {"limit": "abc"}, {"limit": "5000"}):
        with pytest.raises(InvalidInput):
            parse_page(bad)
    with pytest.raises(InvalidInput):
        parse_id({"id": "0"})
    assert parse_id({"id": "7"}) == 7


# Each of these passes ``str.isdigit`` or ``int()`` (or both) in Python, yet no client means a number by it.
NOT_NUMBERS = ["²", "٣", "\uff11", "+1", "-1", " 1", "1 ", "1_000", "0x10", "1e3", "1.0", "", "99999999999",
               "1" * 5000, "\x00", "١٢"]


@pytest.mark.parametrize("raw", NOT_NUMBERS)
def test_whole_number_accepts_ascii_digits_only(raw):
    with pytest.raises(InvalidInput, match="query parameter id"):
        v.whole_number(raw, "id", minimum=1)


@pytest.mark.parametrize("args", [{"id": "²"}, {"id": "٣"}, {"id": "+1"}, {"id": "2147483648"}, {"id": ""}])
def test_ids_outside_ascii_digits_or_the_integer_column_are_refused(args):
    with pytest.raises(InvalidInput):
        parse_id(args)
    assert parse_id({"id": "2147483647"}) == 2**31 - 1


@pytest.mark.parametrize("name", ["limit", "offset"])
@pytest.mark.parametrize("raw", ["²", "٣", "+1", " 1", "-5", "2147483648", "9" * 400])
def test_limit_and_offset_refuse_what_is_not_plain_digits(name, raw):
    with pytest.raises(InvalidInput, match=f"query parameter {name}"):
        parse_page({name: raw})


@settings(max_examples=500, deadline=None)
@given(raw=st.text(st.characters(codec="utf-8"), max_size=30))
def test_whole_number_on_any_text_is_a_bounded_int_or_invalid_input(raw):
    try:
        value = v.whole_number(raw, "n", minimum=0, maximum=100)
    except InvalidInput:
        assert not (raw.isascii() and raw.isdigit() and int(raw) <= 100)
    else:
        assert raw.isascii() and raw.isdigit() and value == int(raw) and 0 <= value <= 100


@pytest.mark.parametrize(("raw", "fragment"), [
    (b"[" * 100_000, "nested too deeply"),
    (b"[" * 40 + b"]" * 40, "nested too deeply"),
    (b'{"a": 1, "a": 2}', "repeats a key"),
    (b"NaN", "NaN"),
    (b'{"n": -Infinity}', "Infinity"),
    (b'"\\ud800"', "surrogate"),
    (b"1" * 5000, "not valid JSON"),
    (b"\xff\xfe{", "not valid JSON"),
])
def test_parse_json_refuses_what_would_crash_or_confuse_a_handler(raw, fragment):
    with pytest.raises(InvalidInput, match=fragment):
        v.parse_json(raw)


def test_parse_json_depth_is_configurable_and_counts_objects_and_arrays():
    assert v.parse_json(b'{"a": [{"b": [1]}]}', max_depth=4) == {"a": [{"b": [1]}]}
    with pytest.raises(InvalidInput, match="at most 3 levels"):
        v.parse_json(b'{"a": [{"b": [1]}]}', max_depth=3)


@settings(max_examples=300, deadline=None)
@given(data=st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                         lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                         max_leaves=20))
def test_parse_json_round_trips_every_shallow_document(data):
    assert v.parse_json(json.dumps(data).encode(), max_depth=64) == data


@pytest.mark.parametrize(("text", "expected"), [("1", True), (" TRUE ", True), ("yes", True), ("On", True),
                                                ("0", False), ("false", False), ("No", False), ("off", False)])
def test_parse_bool_reads_yes_and_no_words(text, expected):
    assert v.parse_bool(text) is expected


@pytest.mark.parametrize("text", ["", "2", "ja", "truee", "enabled"])
def test_parse_bool_refuses_anything_else(text):
    with pytest.raises(ValueError, match="not a boolean"):
        v.parse_bool(text)
