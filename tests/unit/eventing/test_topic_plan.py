"""The topic plan (``eventing.topics.plan``): create what is missing, widen what is narrower,
never shrink."""

from __future__ import annotations

import pytest

from eventing.topics import plan, wanted


def test_each_domain_topic_comes_with_its_dead_letter_topic():
    assert wanted(["movie-events", "user-events"]) == ("movie-events", "movie-events.dlq", "user-events",
                                                       "user-events.dlq")


def test_missing_topics_are_created_narrower_ones_widened_wider_ones_kept():
    done = plan({"a": 3, "b": 12, "c": 6, "unrelated": 1}, ["a", "b", "c", "d"], 6)
    assert done.create == ("d",)
    assert dict(done.grow) == {"a": (3, 6)}
    assert dict(done.wider) == {"b": 12}


def test_nothing_to_do_when_every_topic_has_the_count():
    done = plan({"a": 3}, ["a"], 3)
    assert not done.create and not done.grow and not done.wider


def test_a_topic_needs_a_partition():
    with pytest.raises(ValueError):
        plan({}, ["a"], 0)
