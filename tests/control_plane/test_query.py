"""Strict query-string parsing (pure, no app): malformed values are BadQuery, good ones are typed."""

from __future__ import annotations

import pytest

from control_plane.kafka_selection import Selection, check_topic, parse
from control_plane.query import BadQuery, int_arg, text_arg, when_arg


@pytest.mark.parametrize("raw", ["abc", "-1", "1.5", "99999999999999999999", "\uff11", " 1 2"])
def test_int_arg_refuses_anything_but_a_whole_number_in_range(raw):
    with pytest.raises(BadQuery):
        int_arg({"page": raw}, "page", 1, 1, 100_000)


def test_int_arg_defaults_and_bounds():
    assert int_arg({}, "page", 1, 1, 10) == 1
    assert int_arg({"page": " 7 "}, "page", 1, 1, 10) == 7


@pytest.mark.parametrize("raw", ["0001-01-01T00:00", "1970-01-01T00:00", "9999-12-31T23:59", "yesterday",
                                 "2026-13-45"])
def test_when_arg_refuses_out_of_range_or_junk(raw):
    with pytest.raises(BadQuery):
        when_arg({"since": raw}, "since")


def test_when_arg_reads_datetime_local_values_as_aware():
    value = when_arg({"since": "2026-11-25T14:30"}, "since")
    assert value.tzinfo is not None and (value.hour, value.minute) == (14, 30)


def test_text_arg_refuses_control_characters_and_length():
    with pytest.raises(BadQuery):
        text_arg({"q": "a\x00b"}, "q")
    with pytest.raises(BadQuery):
        text_arg({"q": "x" * 201}, "q")


@pytest.mark.parametrize("topic", ["bad\x00topic", "a" * 250, "with space", "", "ünïcode"])
def test_check_topic_refuses_names_kafka_would(topic):
    with pytest.raises(BadQuery):
        check_topic(topic)


def test_selection_keeps_the_partition_for_every_view():
    assert parse({"partition": "2"}) == Selection(partition=2)
    assert parse({"partition": "1", "since": "2026-01-01T00:00"}).partition == 1
    assert parse({"partition": "1", "q": "x"}).describe().endswith("of partition 1")
    assert parse({}).is_newest and not parse({"partition": "0", "offset": "0"}).is_newest


def test_an_offset_needs_a_partition():
    with pytest.raises(BadQuery, match="choose a partition"):
        parse({"offset": "5"})  # "all" partitions: reading partition 0 silently would mislead
