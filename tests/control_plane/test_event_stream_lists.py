"""The event stream page names the registry's topics and the declared event aggregates."""

from __future__ import annotations

from kernel import event_types, registry


def test_event_stream_names_every_domain_topic_and_aggregate(as_role):
    page = as_role("viewer").get("/events").get_data(as_text=True)
    assert f"Newest events of {', '.join(registry.TOPICS)}," in page
    for aggregate in dict.fromkeys(t.type for t in event_types.EVENT_TYPES.values()):
        assert f"<option >{aggregate}</option>" in page or f"<option>{aggregate}</option>" in page, aggregate
