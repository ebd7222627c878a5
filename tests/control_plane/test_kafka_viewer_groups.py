"""Topic viewer: partition picker, filters kept after produce, masking
by field name, consumer groups with state/members/lag, links from an event to its record."""

from __future__ import annotations

import json
import uuid

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from control_plane.kafka_reader import Message
from control_plane.masking import mask
from tests.support.processes import wait_until


@pytest.fixture(scope="module")
def two_partitions(kafka_brokers):
    """A topic with two partitions: p0 holds ``zero-*`` messages, p1 ``one-*`` messages."""
    name = f"console-parts-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": kafka_brokers})
    admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])[name].result(10)
    producer = Producer({"bootstrap.servers": kafka_brokers})
    for i in range(3):
        producer.produce(name, key=f"zero-{i}".encode(), value=b'{"where": "p-zero"}', partition=0)
        producer.produce(name, key=f"one-{i}".encode(), value=b'{"where": "p-one"}', partition=1)
    assert producer.flush(10) == 0
    yield name
    admin.delete_topics([name])[name].result(10)


def test_partition_picker_applies_without_an_offset(as_role, two_partitions):
    viewer = as_role("viewer")
    html = viewer.get(f"/kafka/{two_partitions}?partition=1").get_data(as_text=True)
    assert "one-0" in html and "zero-0" not in html
    html = viewer.get(f"/kafka/{two_partitions}?partition=0&since=2000-01-01T00:00").get_data(as_text=True)
    assert "zero-0" in html and "one-0" not in html
    html = viewer.get(f"/kafka/{two_partitions}?partition=1&q=p-").get_data(as_text=True)
    assert "one-2" in html and "zero-2" not in html
    assert viewer.get(f"/kafka/{two_partitions}?partition=7").status_code == 404


def test_produce_returns_to_the_same_filters(as_role, two_partitions):
    ops = as_role("ops")
    view = f"/kafka/{two_partitions}?partition=1&limit=5"
    response = ops.post(f"/kafka/{two_partitions}/produce", {"key": "kept", "value": "{}", "next": view})
    assert response.status_code == 302 and response.location == view
    response = ops.post(f"/kafka/{two_partitions}/produce", {"key": "x", "value": "{}", "next": "/admin/users/"})
    assert response.location == f"/kafka/{two_partitions}"  # only back to this topic's view


def test_rows_are_compact_with_a_detail_drawer(as_role, two_partitions):
    html = as_role("ops").get(f"/kafka/{two_partitions}?partition=0").get_data(as_text=True)
    assert html.count('class="msg"') >= 3 and 'id="m-0-0"' in html
    assert 'data-copy="#v-0-0"' in html and 'id="v-0-0"' in html  # value with a copy button
    assert "Size" in html and "Republish…" in html


@pytest.mark.parametrize(("text", "hidden"), [
    ("write to a@[10.0.0.1] now", "a@[10.0.0.1]"),
    ("jürgen@bücher.de", "jürgen"),
    ("x.y+tag@sub.example.co.uk", "x.y+tag"),
])
def test_mask_hides_unusual_addresses(text, hidden):
    assert hidden not in mask(text)


def test_mask_by_field_name_hides_values_that_do_not_look_like_addresses():
    value = json.dumps({"payload": {"email": "not-an-address", "contact_email": "b@[1.2.3.4]", "note": "c@d.ef"}})
    masked = Message("t", 0, 0, 0, None, value, [("x-email", "raw")], json.loads(value)).masked()
    assert "not-an-address" not in masked.value and "1.2.3.4" not in masked.value and "c@d.ef" not in masked.value
    assert masked.headers == [("x-email", "***")]


def test_consumer_groups_show_state_members_total_lag(as_role, two_partitions, kafka_brokers):
    group = f"console-group-{uuid.uuid4().hex[:8]}"
    consumer = Consumer({"bootstrap.servers": kafka_brokers, "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "client.id": "lag-test-client"})
    consumer.subscribe([two_partitions])
    try:
        record = wait_until(lambda: consumer.poll(0.5), timeout=30, message="first record")
        consumer.commit(message=record, asynchronous=False)
        page = as_role("viewer").get(f"/kafka/{two_partitions}").get_data(as_text=True)
        assert f'hx-get="/kafka/{two_partitions}/groups"' in page, "the page loads its groups after the messages"
        html = as_role("viewer").get(f"/kafka/{two_partitions}/groups").get_data(as_text=True)
        row = html[html.index(f'data-group="{group}"'):]
        row = row[:row.index("</tr>")]
        assert "state-stable" in row and "lag-test-client" in row
        assert '<td class="num">' in row
        total = int(row.split('<td class="num">')[1].split("<")[0])
        assert total >= 2  # 3+ messages on the committed partition, one consumed
    finally:
        consumer.close()


def test_event_links_to_its_catalogue_record(as_role, kafka_brokers):
    from domain_services.movies import services as movies

    movie = movies.create_movie({"title": f"Linked {uuid.uuid4().hex[:6]}", "description": "d", "rating": 7})
    topic = f"console-link-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka_brokers})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(10)
    producer = Producer({"bootstrap.servers": kafka_brokers})
    producer.produce(topic, key=str(movie["id"]).encode(),
                     value=json.dumps({"type": "movie", "action": "created", "payload": movie}).encode())
    producer.flush(10)
    try:
        html = as_role("editor").get(f"/kafka/{topic}").get_data(as_text=True)
        assert f'href="/admin/movies/details/?id={movie["id"]}"' in html
        assert as_role("editor").get(f"/admin/movies/details/?id={movie['id']}").status_code == 200
    finally:
        admin.delete_topics([topic])[topic].result(10)


def test_masked_copy_reports_the_stored_size():
    value = json.dumps({"email": "someone@example.com"})
    message = Message("t", 0, 0, 0, None, value, [], json.loads(value))
    assert message.masked().size == message.size == len(value.encode())


def test_seek_with_every_partition_is_refused_not_read_from_partition_0(as_role, two_partitions):
    response = as_role("viewer").get(f"/kafka/{two_partitions}?offset=0")
    assert response.status_code == 400 and "choose a partition" in response.get_data(as_text=True)


def test_event_stream_polls_send_the_table_only_when_it_changed(as_role):
    viewer = as_role("viewer")
    for _ in range(5):  # the domain topics are live: a new event between the two requests changes the table
        page = viewer.get("/events").get_data(as_text=True)
        shown = page.split('data-shown="')[1].split('"')[0]
        poll = viewer.get("/events", headers={"HX-Request": "true", "X-Shown": shown})
        if poll.status_code == 204:
            break
    assert poll.status_code == 204 and poll.get_data() == b""
    fresh = viewer.get("/events", headers={"HX-Request": "true", "X-Shown": "something-else"})
    assert fresh.status_code == 200 and fresh.headers["X-Content-Hash"] and fresh.get_data()
