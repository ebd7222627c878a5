"""The topic viewer against the real broker: listing, newest messages, masking, produce, export, search."""

from __future__ import annotations

import json


def test_topic_list_shows_topic_with_counts(as_role, kafka_topic):
    html = as_role("viewer").get("/kafka").get_data(as_text=True)
    assert kafka_topic in html


def test_ops_sees_message_unmasked_viewer_masked(as_role, kafka_topic):
    ops_html = as_role("ops").get(f"/kafka/{kafka_topic}").get_data(as_text=True)
    assert "alice@example.com" in ops_html
    viewer_html = as_role("viewer").get(f"/kafka/{kafka_topic}").get_data(as_text=True)
    assert "alice@example.com" not in viewer_html and "a***@example.com" in viewer_html
    assert "Republish" not in viewer_html and "Produce a test message" not in viewer_html


def test_produced_message_is_shown_newest_first(as_role, kafka_topic):
    ops = as_role("ops")
    response = ops.post(f"/kafka/{kafka_topic}/produce", {"key": "k-new", "value": '{"hello": "newest"}',
                                                          "headers": "trace: abc"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "produced to partition" in html
    assert html.index("newest") < html.index("alice@example.com")
    assert "trace" in html


def test_search_reports_scanned_count(as_role, kafka_topic):
    html = as_role("ops").get(f"/kafka/{kafka_topic}?q=alice").get_data(as_text=True)
    assert "· scanned " in html and "alice@example.com" in html


def test_masked_search_is_no_oracle_for_hidden_addresses(as_role, kafka_topic):
    viewer = as_role("viewer")
    assert "0 shown" in viewer.get(f"/kafka/{kafka_topic}?q=alice@example.com").get_data(as_text=True)
    assert "0 shown" in viewer.get(f"/kafka/{kafka_topic}?q=alice").get_data(as_text=True)
    masked = viewer.get(f"/kafka/{kafka_topic}?q=a***@example.com").get_data(as_text=True)
    assert "0 shown" not in masked and "a***@example.com" in masked  # the masked text is searchable
    body = json.loads(viewer.get(f"/kafka/{kafka_topic}/export.json?q=alice").data)
    assert body["messages"] == []


def test_seek_by_offset_and_export(as_role, kafka_topic):
    viewer = as_role("viewer")
    html = viewer.get(f"/kafka/{kafka_topic}?partition=0&offset=0&limit=1").get_data(as_text=True)
    assert "0/0" in html
    body = json.loads(viewer.get(f"/kafka/{kafka_topic}/export.json?partition=0&offset=0&limit=1").data)
    assert body["messages"][0]["value"]["payload"]["email"] == "a***@example.com"


def test_seek_by_time_finds_messages(as_role, kafka_topic):
    html = as_role("viewer").get(f"/kafka/{kafka_topic}?since=2000-01-01T00:00").get_data(as_text=True)
    assert "0/0" in html


def test_republish_asks_first_and_produces_nothing_until_confirmed(console_app, as_role, kafka_topic):
    from control_plane import kafka_reader

    ops = as_role("ops")
    with console_app.app_context():  # the reader's clients come from the app's settings
        before = kafka_reader.topic_info(kafka_topic).count
    response = ops.post(f"/kafka/{kafka_topic}/republish", {"partition": "0", "offset": "0"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Republish it" in html and 'name="confirm" value="yes"' in html
    with console_app.app_context():
        assert kafka_reader.topic_info(kafka_topic).count == before


def test_republish_copies_message(as_role, kafka_topic):
    ops = as_role("ops")
    html = ops.post(f"/kafka/{kafka_topic}/republish", {"partition": "0", "offset": "0", "confirm": "yes"},
                    follow_redirects=True).get_data(as_text=True)
    assert "republished 0/0" in html
    assert f"{kafka_topic}/0/0" in html  # the republished-from header


def test_unknown_topic_is_404(as_role):
    assert as_role("viewer").get("/kafka/does-not-exist-xyz").status_code == 404
