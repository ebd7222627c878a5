"""A rollout card's observed share covers only the seconds after the flag's last change (up to a minute)."""

from __future__ import annotations

from datetime import UTC, datetime

from control_plane.observed_window import observed_window

CHANGE = datetime(2026, 12, 5, 12, 3, 4, 400_000, tzinfo=UTC).timestamp()


def test_right_after_a_change_only_the_seconds_since_it_count_and_the_label_says_so():
    window = observed_window(CHANGE, now=CHANGE + 15)
    assert window.seconds == 14  # 12:03:05 .. 12:03:18: whole seconds after the change's own
    assert window.label == "Observed since 12:03:04 UTC (14 s)"
    assert window.table_label == "since 12:03:04 UTC"


def test_a_change_a_minute_ago_or_more_is_the_usual_minute():
    for age in (61.0, 3600.0):
        window = observed_window(CHANGE, now=CHANGE + age)
        assert (window.seconds, window.label, window.table_label) == (60, "Observed (60 s)", "last 60 s")


def test_a_flag_never_changed_is_the_usual_minute():
    assert observed_window(None, now=CHANGE).label == "Observed (60 s)"


def test_before_a_whole_second_has_passed_the_window_is_empty():
    for age in (0.3, 1.0):  # the change's own second mixes both steps; the next one is not complete yet
        window = observed_window(CHANGE, now=CHANGE + age)
        assert (window.seconds, window.label) == (0, "Observed since 12:03:04 UTC (0 s)")
