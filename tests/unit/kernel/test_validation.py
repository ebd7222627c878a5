"""Pure validators: the wording and edge cases clients depend on."""

from __future__ import annotations

from decimal import Decimal

import pytest

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
