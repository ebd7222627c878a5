"""The dead-letter page against the real broker: reasons shown, send-back confirmed, audited, role-gated."""

from __future__ import annotations

import json
import uuid

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from sqlalchemy import select

from eventing import dead_letters
from kernel.db import read_session
from kernel.models import FlagAudit
from tests.events.kafka_read import high_watermarks, read_range

DLQ, SOURCE = "payment-events.dlq", "payment-events"


@pytest.fixture
def dead_letter(kafka_brokers):
    """A dead letter on ``payment-events.dlq`` as the payments consumer writes it; returns its details."""
    dead_letters.ensure_topics(AdminClient({"bootstrap.servers": kafka_brokers}), [DLQ])
    key = f"dl-{uuid.uuid4().hex[:8]}"
    value = json.dumps({"id": str(uuid.uuid4()), "type": "payment", "action": "completed",
                        "payload": {"payment_id": 1, "user_id": "abc", "email": "bob@example.com"}})
    headers = [("trace", b"t-1"), ("dlq-original-topic", SOURCE.encode()), ("dlq-original-partition", b"2"),
               ("dlq-original-offset", b"41"), ("dlq-consumer-group", b"payments-reactions"),
               ("dlq-error-class", b"PoisonMessage"),
               ("dlq-error", f"payload.user_id must be a positive integer ({key})".encode()),
               ("dlq-failed-at", b"2026-11-25T20:00:00.000+00:00")]
    producer = Producer({"bootstrap.servers": kafka_brokers, "log_level": 3})
    report = []
    producer.produce(DLQ, key=key.encode(), value=value.encode(), headers=headers,
                     on_delivery=lambda err, msg: report.append((err, msg)))
    producer.flush(10)
    [(err, msg)] = report
    assert err is None
    return {"key": key, "value": value, "partition": msg.partition(), "offset": msg.offset()}


def test_every_dead_letter_topic_is_listed_with_reasons_and_masked_for_viewers(as_role, dead_letter):
    html = as_role("viewer").get("/kafka/dead-letters").get_data(as_text=True)
    for topic in dead_letters.DEAD_LETTER_TOPICS:
        assert f'data-topic="{topic}"' in html
    assert dead_letter["key"] in html
    assert "payments-reactions" in html and "PoisonMessage" in html
    assert f"{SOURCE} 2/41" in html
    assert "bob@example.com" not in html  # personal data masked as in the viewer
    assert "Send back" not in html


def test_viewer_cannot_send_back(as_role, dead_letter):
    viewer = as_role("viewer")
    where = {"topic": DLQ, "partition": dead_letter["partition"], "offset": dead_letter["offset"]}
    assert viewer.get("/kafka/dead-letters/confirm", query_string=where).status_code == 403
    assert viewer.post("/kafka/dead-letters/republish", where).status_code == 403


def test_ops_confirms_then_the_message_is_back_on_its_source_topic_and_audited(as_role, dead_letter, kafka_brokers):
    ops = as_role("ops")
    where = {"topic": DLQ, "partition": dead_letter["partition"], "offset": dead_letter["offset"]}
    assert "Send back…" in ops.get("/kafka/dead-letters").get_data(as_text=True)
    start = high_watermarks(kafka_brokers, SOURCE)

    confirm = ops.get("/kafka/dead-letters/confirm", query_string=where).get_data(as_text=True)
    assert f"back to {SOURCE}?" in confirm and "bob@example.com" in confirm
    assert high_watermarks(kafka_brokers, SOURCE) == start  # nothing produced before the confirmation

    response = ops.post("/kafka/dead-letters/republish", where, follow_redirects=True)
    assert response.status_code == 200
    assert f"back to {SOURCE}" in response.get_data(as_text=True)

    [back] = [m for m in read_range(kafka_brokers, SOURCE, start) if m["_key"] == dead_letter["key"]]
    assert back["_value"].decode() == dead_letter["value"]
    assert back["_headers"]["republished-from"] == f"{DLQ}/{dead_letter['partition']}/{dead_letter['offset']}"
    assert back["_headers"]["trace"] == "t-1"
    assert not any(name.startswith("dlq-") for name in back["_headers"])

    with read_session() as session:
        actor, before, after = session.execute(
            select(FlagAudit.actor, FlagAudit.before, FlagAudit.after)
            .where(FlagAudit.action == "kafka.dead_letter_republished").order_by(FlagAudit.id.desc()).limit(1)).one()
    assert actor == "test-ops"
    assert before["offset"] == dead_letter["offset"] and before["group"] == "payments-reactions"
    assert after["topic"] == SOURCE and after["partition"] == back["_partition"]


@pytest.mark.parametrize(("form", "status"), [
    ({"topic": "movie-events", "partition": 0, "offset": 0}, 404),  # not a dead-letter topic
    ({"topic": DLQ, "partition": 0}, 400),
    ({"topic": DLQ, "partition": "x", "offset": 0}, 400),
])
def test_bad_send_back_requests_are_refused(as_role, form, status):
    assert as_role("ops").post("/kafka/dead-letters/republish", form).status_code == status


def _where(letter: dict) -> dict:
    return {"topic": DLQ, "partition": letter["partition"], "offset": letter["offset"]}


def test_a_sent_back_letter_says_when_by_whom_and_what_happened(as_role, dead_letter):
    ops = as_role("ops")
    html = ops.get("/kafka/dead-letters/confirm", query_string=_where(dead_letter)).get_data(as_text=True)
    assert 'data-testid="poison-warning"' in html  # PoisonMessage: the message itself fails
    ops.post("/kafka/dead-letters/republish", _where(dead_letter))
    page = ops.get("/kafka/dead-letters").get_data(as_text=True)
    row = page[page.index(dead_letter["key"]) - 3000:page.index(dead_letter["key"]) + 3000]
    assert 'data-testid="replayed"' in row and "by test-ops" in row and f"sent to {SOURCE}" in row
    assert " UTC</time>" in row  # the console's one date format


@pytest.fixture
def two_dead_letters(dead_letter, kafka_brokers):
    second = dead_letter.copy()
    from confluent_kafka import Producer as KafkaProducer

    producer = KafkaProducer({"bootstrap.servers": kafka_brokers, "log_level": 3})
    report = []
    producer.produce(DLQ, key=b"bulk-2", value=dead_letter["value"].encode(),
                     headers=[("dlq-original-topic", SOURCE.encode()), ("dlq-original-partition", b"0"),
                              ("dlq-original-offset", b"7"), ("dlq-consumer-group", b"payments-reactions"),
                              ("dlq-error-class", b"OperationalError"), ("dlq-error", b"database went away"),
                              ("dlq-failed-at", b"2026-11-25T20:00:00.000+00:00")],
                     on_delivery=lambda err, msg: report.append(msg))
    producer.flush(10)
    second.update(key="bulk-2", partition=report[0].partition(), offset=report[0].offset())
    return dead_letter, second


def test_bulk_send_back_confirms_then_sends_each_with_its_own_audit_row(as_role, two_dead_letters, kafka_brokers):
    ops = as_role("ops")
    selection = [f"{DLQ}/{d['partition']}/{d['offset']}" for d in two_dead_letters]
    start = high_watermarks(kafka_brokers, SOURCE)
    confirm = ops.get("/kafka/dead-letters/confirm-bulk", query_string={"sel": selection}).get_data(as_text=True)
    assert "Send 2 dead letter(s) back" in confirm and "1 of them will most" in confirm
    assert high_watermarks(kafka_brokers, SOURCE) == start
    response = ops.post("/kafka/dead-letters/republish-bulk", {"sel": selection}, follow_redirects=True)
    assert "sent 2 dead letter(s) back" in response.get_data(as_text=True)
    keys = {m["_key"] for m in read_range(kafka_brokers, SOURCE, start)}
    assert {d["key"] for d in two_dead_letters} <= keys
    with read_session() as session:
        rows = session.scalars(select(FlagAudit.before).where(FlagAudit.action == "kafka.dead_letter_republished",
                                                              FlagAudit.reason == "bulk send-back")
                               .order_by(FlagAudit.id.desc()).limit(2)).all()
    assert sorted(r["offset"] for r in rows) == sorted(d["offset"] for d in two_dead_letters)


@pytest.mark.parametrize("selection", [[], ["movie-events/0/0"], ["payment-events.dlq/x/1"]])
def test_bad_bulk_selections_are_refused(as_role, selection):
    assert as_role("ops").post("/kafka/dead-letters/republish-bulk", {"sel": selection}).status_code == 400


def test_waiting_dead_letters_are_flagged(as_role, dead_letter):
    html = as_role("viewer").get("/kafka/dead-letters/summary").get_data(as_text=True)
    assert 'data-testid="dlq-warning"' in html and DLQ in html
    assert 'hx-get="/kafka/dead-letters/summary"' in as_role("viewer").get("/kafka").get_data(as_text=True)
    assert 'hx-get="/kafka/dead-letters/summary"' in as_role("viewer").get("/").get_data(as_text=True)
