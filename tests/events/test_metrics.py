"""``/metrics`` of the events service and the kernel's lag function, against the real broker.

A consumer group is simulated by committing an offset behind the end of a topic; a dead
letter by producing to ``payment-events.dlq`` with the headers a consumer writes.
"""

from __future__ import annotations

import re
import time
import uuid

import httpx
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from domain_services.events.metrics import render
from eventing import dead_letters
from eventing.consumer_lag import GroupLag, PartitionLag, consumer_lag
from kernel.settings import load_settings
from tests.support.processes import wait_until


def test_render_is_prometheus_text_with_one_series_per_group():
    lags = [GroupLag("payments-reactions", (PartitionLag("payment-events", 0, 5, 0, 9, 12.5),
                                           PartitionLag("payment-events", 1, 3, 0, 3, None)))]
    text = render(lags, {("payments-reactions", "payment-events"): 2})

    assert "cinemaabyss_pipeline_up 1" in text
    assert 'cinemaabyss_dead_letters_total{group="payments-reactions",topic="payment-events"} 2' in text
    assert 'cinemaabyss_consumer_lag_messages{group="payments-reactions",topic="payment-events",partition="0"} 4' \
        in text
    assert 'cinemaabyss_consumer_group_lag_messages{group="payments-reactions"} 4' in text
    assert 'cinemaabyss_consumer_oldest_unprocessed_age_seconds{group="payments-reactions"} 12.500' in text
    assert "# TYPE cinemaabyss_dead_letters_total counter" in text


def test_render_says_down_when_the_broker_did_not_answer():
    assert render(None, None).splitlines()[-1] == "cinemaabyss_pipeline_up 0"


def test_render_reports_the_relays_outbox_backlog():
    text = render([], {}, {"pending": 7, "oldest_pending_age_seconds": 42.0})
    assert "cinemaabyss_outbox_pending_events 7" in text
    assert "cinemaabyss_outbox_oldest_pending_age_seconds 42.000" in text
    assert "cinemaabyss_outbox_oldest_pending_age_seconds 0.000" in render([], {}, {
        "pending": 0, "oldest_pending_age_seconds": None}), "0 when nothing waits"
    assert "cinemaabyss_outbox" not in render([], {}), "missing, not stale, while PostgreSQL is down"


def _produce(brokers: str, topic: str, key: str, headers=None) -> tuple[int, int]:
    producer = Producer({"bootstrap.servers": brokers, "log_level": 3})
    report = []
    producer.produce(topic, key=key.encode(), value=b'{"id": "x"}', headers=headers,
                     on_delivery=lambda err, msg: report.append((err, msg)))
    producer.flush(10)
    [(err, msg)] = report
    assert err is None, err
    return msg.partition(), msg.offset()


def _commit(brokers: str, group: str, topic: str, partition: int, offset: int) -> None:
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": group, "log_level": 3})
    try:
        consumer.commit(offsets=[TopicPartition(topic, partition, offset)], asynchronous=False)
    finally:
        consumer.close()


def _metric(text: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    match = re.search(rf"^{name}\{{{re.escape(wanted)}\}} (\S+)$", text, re.M)
    return float(match.group(1)) if match else None


def test_metrics_show_dead_letters_lag_and_oldest_age_per_group(events_service, kafka_brokers):
    group = f"lag-test-{uuid.uuid4().hex[:8]}"
    key = f"metrics-{uuid.uuid4().hex[:8]}"
    partition, first = _produce(kafka_brokers, "movie-events", key)
    _produce(kafka_brokers, "movie-events", key)
    _commit(kafka_brokers, group, "movie-events", partition, first)  # group is 2 behind, stuck at `first`
    dead_letters.ensure_topics(AdminClient({"bootstrap.servers": kafka_brokers}), ["payment-events.dlq"])
    reason = [("dlq-original-topic", b"payment-events"), ("dlq-original-partition", b"0"),
              ("dlq-original-offset", b"7"), ("dlq-consumer-group", group.encode()),
              ("dlq-error-class", b"ValueError"), ("dlq-error", b"bad"), ("dlq-failed-at", b"now")]
    _produce(kafka_brokers, "payment-events.dlq", key, reason)

    def scraped() -> str | None:
        response = httpx.get(f"{events_service.url}/metrics", timeout=10)
        assert response.headers["content-type"].startswith("text/plain")
        text = response.text
        return text if _metric(text, "cinemaabyss_dead_letters_total", group=group, topic="payment-events") else None

    text = wait_until(scraped, timeout=30, interval=0.5, message="dead letter counted in /metrics")
    assert _metric(text, "cinemaabyss_dead_letters_total", group=group, topic="payment-events") == 1
    assert _metric(text, "cinemaabyss_consumer_group_lag_messages", group=group) >= 2
    assert _metric(text, "cinemaabyss_consumer_lag_messages", group=group, topic="movie-events",
                   partition=str(partition)) >= 2
    assert _metric(text, "cinemaabyss_consumer_oldest_unprocessed_age_seconds", group=group) >= 0
    assert "cinemaabyss_pipeline_up 1" in text


def test_kernel_lag_function_reports_the_age_of_the_message_a_stuck_group_waits_on(kafka_brokers):
    group = f"lag-test-{uuid.uuid4().hex[:8]}"
    partition, first = _produce(kafka_brokers, "user-events", f"age-{group}")
    _commit(kafka_brokers, group, "user-events", partition, first)
    produced_at = time.time()

    def aged() -> GroupLag | None:
        [lag] = consumer_lag(load_settings(kafka_brokers=kafka_brokers), [group])
        return lag if lag.oldest_age_s and lag.oldest_age_s >= 1.0 else None

    lag = wait_until(aged, timeout=15, interval=0.3, message="oldest unprocessed message ages")
    assert lag.lag >= 1
    assert lag.topics() == ["user-events"]
    assert lag.oldest_age_s <= time.time() - produced_at + 5

    _commit(kafka_brokers, group, "user-events", partition, lag.partitions[0].high)
    [caught_up] = consumer_lag(load_settings(kafka_brokers=kafka_brokers), [group])
    assert caught_up.lag == 0 and caught_up.oldest_age_s is None
