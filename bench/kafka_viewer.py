"""Kafka viewer benchmark: newest 50 messages of a 1,000,000-message topic (target ≤ 500 ms).

Produces 1,000,000 small JSON messages to a throw-away 3-partition topic with a batching
producer (linger + lz4), then times :func:`control_plane.kafka_reader.newest` (the code
behind ``/kafka/<topic>``) cold and warm, plus a bounded 10,000-message search. Deletes the
topic at the end.

Run: ``.venv/bin/python bench/kafka_viewer.py``
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MESSAGES = 1_000_000
PARTITIONS = 3
TARGET_MS = 500.0
RUNS = 20


def main() -> None:
    """Fill the topic, time the newest-50 read, print the figures."""
    from confluent_kafka.admin import AdminClient, NewTopic

    from bench.large_data import produce
    from control_plane import kafka_reader
    from kernel.settings import get_settings

    brokers = get_settings().kafka_brokers
    topic = f"bench-viewer-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": brokers})
    admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)])[topic].result(15)
    try:
        seconds = produce(brokers, topic, MESSAGES)
        info = kafka_reader.topic_info(topic)
        print(f"produced {info.count:,} messages to {topic} ({PARTITIONS} partitions) in {seconds:.1f} s "
              f"({MESSAGES / seconds:,.0f} msg/s)")
        started = time.perf_counter()
        first = kafka_reader.newest(topic, 50)
        cold = (time.perf_counter() - started) * 1000
        assert len(first.messages) == 50 and first.complete
        samples = []
        for _ in range(RUNS):
            started = time.perf_counter()
            result = kafka_reader.newest(topic, 50)
            samples.append((time.perf_counter() - started) * 1000)
            assert len(result.messages) == 50
        samples.sort()
        median, p95 = statistics.median(samples), samples[int(len(samples) * 0.95) - 1]
        started = time.perf_counter()
        found = kafka_reader.search(topic, '"n": 999999', 50, 10_000)
        search_ms = (time.perf_counter() - started) * 1000
        print(f"newest 50: cold {cold:.1f} ms, warm median {median:.1f} ms, p95 {p95:.1f} ms")
        print(f"search over newest {found.scanned:,}: {search_ms:.1f} ms ({len(found.messages)} hit)")
        worst = max(cold, p95)
        verdict = "OK" if worst <= TARGET_MS else "OVER TARGET"
        print(f"worst (cold or p95) {worst:.1f} ms vs target {TARGET_MS:.0f} ms → ratio {worst / TARGET_MS:.2f} "
              f"({verdict})")
    finally:
        admin.delete_topics([topic])[topic].result(15)


if __name__ == "__main__":
    main()
