"""Notification payloads (generic, Slack, Teams), signing and the audit-row mapping (pure)."""

from __future__ import annotations

import json

import pytest

from strangler import notify

NOTE = notify.Notification("plan.rollback", "critical", "movies: rollout rolled back", "red gate: latency",
                           "2026-12-05T19:00:00+00:00", "movies", {"step": "2/3 at 10%"})


def test_a_signature_verifies_and_a_changed_body_or_old_timestamp_does_not():
    raw = notify.body(notify.payload(NOTE, "generic"))
    headers = notify.signed_headers("s3cret", 1_000_000, raw, NOTE.kind)
    assert headers[notify.SIGNATURE_HEADER].startswith("sha256=")
    assert notify.verify("s3cret", headers, raw, now=1_000_010)
    assert not notify.verify("s3cret", headers, raw + b" ", now=1_000_010)
    assert not notify.verify("other", headers, raw, now=1_000_010)
    assert not notify.verify("s3cret", headers, raw, now=1_000_000 + 301), "a replay after the tolerance"


def test_generic_payload_carries_every_field():
    data = notify.payload(NOTE, "generic")
    assert data == {"event": "plan.rollback", "severity": "critical", "title": "movies: rollout rolled back",
                    "text": "red gate: latency", "at": "2026-12-05T19:00:00+00:00", "domain": "movies",
                    "facts": {"step": "2/3 at 10%"}}


def test_slack_payload_has_fallback_text_and_blocks():
    data = notify.payload(NOTE, "slack")
    assert data["text"] == NOTE.title
    assert data["blocks"][0]["type"] == "header" and "*step:* 2/3 at 10%" in json.dumps(data)


def test_teams_payload_is_a_message_card_with_facts():
    data = notify.payload(NOTE, "teams")
    assert data["@type"] == "MessageCard" and data["themeColor"] == "C62828"
    assert {"name": "step", "value": "2/3 at 10%"} in data["sections"][0]["facts"]


def test_unknown_format_is_a_programming_error():
    with pytest.raises(ValueError):
        notify.payload(NOTE, "fax")


def test_audit_rows_map_to_kinds_and_carry_the_verdicts():
    after = {"percent": 10, "step_index": 1, "steps": [5, 10, 100],
             "judgement": {"verdicts": [{"gate": "latency", "outcome": "fail", "dry_run": False}]}}
    note = notify.from_audit("rollout.rolled_back", "movies", "rollout-runner", "red gate", "t", after)
    assert (note.kind, note.severity) == ("plan.rollback", "critical")
    assert note.facts["step"] == "2/3 at 10%" and note.facts["gate latency"] == "fail"
    assert notify.from_audit("flag.auto_rollback", "users", "gateway", "5 failures", "t", None).kind == "auto_rollback"
    assert notify.from_audit("operator.login", None, "admin", None, "t", None) is None


@pytest.mark.parametrize(("attempt", "pause"), [(1, 2), (2, 4), (3, 8), (20, 3600)])
def test_backoff_doubles_up_to_an_hour(attempt, pause):
    assert notify.backoff(attempt, 2) == pause
