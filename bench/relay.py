"""Outbox relay benchmark: sustained events/s with one worker, commit → broker-ack latency.

Targets (docs/architecture.md §9): ≥ 2,000 events/s sustained; commit → ack p99 ≤ 500 ms.

Runs against a database of its own (``<database>_bench``, created and migrated on first use),
a private Redis database for the Celery queue and a throw-away topic ``bench-relay-*`` on the
configured broker, so neither the stack's data nor its topics see the load.

1. Throughput: N pending rows are inserted in one transaction, then one nudge; the time until
   the last row is marked published gives events/s (each row produced with acks=all and
   marked only after its delivery report).
2. Latency: rows are committed at a steady rate in small transactions, each commit followed
   by the debounced after-commit nudge the web processes use; latency is
   ``published_at - created_at`` (both database clock; ``published_at`` is set after the
   acknowledgement, so this is an upper bound of commit → ack).

Run: ``.venv/bin/python bench/relay.py [N]`` (default N = 20,000).
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

N = 20_000
RATE_PER_S = 1_000
LATENCY_SECONDS = 10
PER_TX = 5
REDIS_DB = 14
TARGET_EPS = 2_000
TARGET_P99_MS = 500


def bench_database(url: str) -> str:
    """Create and migrate ``<db>_bench`` if needed; returns its URL."""
    from bench.backlog import bench_database as create

    return create(url, "bench")


_INSERT = """
INSERT INTO outbox (id, topic, key, seq, event_type, payload)
SELECT gen_random_uuid(), :topic, (n % 1000)::text, :first_seq + (n - 1) / 1000, 'movie.created',
       jsonb_build_object('id', gen_random_uuid()::text, 'type', 'movie', 'action', 'created',
                          'timestamp', now()::text, 'source', 'bench',
                          'payload', jsonb_build_object('movie_id', n, 'title', 'Bench movie ' || n,
                                                        'description', repeat('x', 200)))
FROM generate_series(1, :count) AS n
"""


def _insert(engine, topic: str, count: int) -> None:
    """``count`` rows over 1,000 keys; every key's ``seq`` grows (consecutive within one call)."""
    from sqlalchemy import text

    with engine.begin() as conn:
        first = conn.scalar(text("SELECT coalesce(max(seq), 0) + 1 FROM outbox WHERE topic = :topic"),
                            {"topic": topic})
        conn.execute(text(_INSERT), {"topic": topic, "count": count, "first_seq": first})


def _pending(engine) -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    """Set up, run both phases, print the figures, clean up."""
    from confluent_kafka.admin import AdminClient, NewTopic
    from sqlalchemy import create_engine, text

    from kernel.relay_nudge import RelayNudge
    from kernel.settings import get_settings
    from tests.support.processes import start_process, wait_until
    from tests.worker.conftest import private_redis_url

    count = int(sys.argv[1]) if len(sys.argv) > 1 else N
    settings = get_settings()
    url = bench_database(settings.database_url)
    redis_url = private_redis_url(settings.redis_url, REDIS_DB)
    topic = f"bench-relay-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": settings.kafka_brokers})
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(30)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE outbox"))
    worker = start_process("bench-worker", "worker", env={"DATABASE_URL": url, "REDIS_URL": redis_url,
                                                           "LOG_LEVEL": "WARNING"}, health_path=None)
    nudge = RelayNudge(redis_url)
    try:
        # warm up: the worker is ready once it relayed a first small batch
        _insert(engine, topic, 10)
        wait_until(lambda: nudge.send_now() and _pending(engine) == 0, timeout=60, interval=0.5,
                   message="worker ready")

        _insert(engine, topic, count)
        started = time.perf_counter()
        nudge.send_now()
        nudged = [started]

        def relayed() -> bool:
            # the bench runs no beat: re-nudge once a second, as the sweep would, should the task
            # stop early (its 30 s budget) or a nudge be lost
            if time.perf_counter() - nudged[0] >= 1.0:
                nudged[0] = time.perf_counter()
                nudge.send_now()
            return _pending(engine) == 0

        wait_until(relayed, timeout=300, interval=0.02, message="backlog relayed")
        elapsed = time.perf_counter() - started
        eps = count / elapsed

        with engine.begin() as conn:
            conn.execute(text("TRUNCATE outbox"))
        interval = PER_TX / RATE_PER_S
        deadline = time.perf_counter() + LATENCY_SECONDS
        next_at = time.perf_counter()
        while time.perf_counter() < deadline:
            _insert(engine, topic, PER_TX)
            nudge()  # what every web process does after a commit
            next_at += interval
            time.sleep(max(0.0, next_at - time.perf_counter()))
        wait_until(lambda: _pending(engine) == 0, timeout=60, interval=0.05, message="latency phase relayed")
        with engine.connect() as conn:
            lat = [r[0] * 1000 for r in conn.execute(text(
                "SELECT extract(epoch FROM published_at - created_at) FROM outbox"))]
    finally:
        worker.stop()
        admin.delete_topics([topic])
        engine.dispose()

    p50, p99 = _pct(lat, 50), _pct(lat, 99)
    print(f"relay throughput: {count} events in {elapsed:.2f}s = {eps:,.0f} events/s "
          f"(target >= {TARGET_EPS:,}; ratio {eps / TARGET_EPS:.2f}x)")
    print(f"commit -> ack latency at {RATE_PER_S}/s for {LATENCY_SECONDS}s ({len(lat)} events): "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(lat):.1f} ms "
          f"(target p99 <= {TARGET_P99_MS} ms; ratio {TARGET_P99_MS / p99:.2f}x headroom)")


if __name__ == "__main__":
    main()
