"""Two relay workers on one database: they share a backlog, each row goes out once, in key order.

Scale-out adds relay workers next to each other; the claim's ``FOR UPDATE SKIP LOCKED`` splits
the pending rows between them and the per-key check keeps a key's rows from overtaking each
other across workers. Real processes (two ``python -m worker`` and one beat), the real broker.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter, defaultdict

from confluent_kafka.admin import AdminClient, NewTopic
from sqlalchemy import text

from kernel.db import get_engine
from tests.events.kafka_read import read_range
from tests.support.processes import running, wait_until
from tests.worker.conftest import private_redis_url

ROWS = 30_000
KEYS = 300
# A Celery queue of this test's own: the shared worker tests' queue (13) and the stack's stay untouched.
REDIS_DB = 10

_INSERT = text(
    """
    INSERT INTO outbox (id, topic, key, seq, event_type, payload)
    SELECT gen_random_uuid(), :topic, 'k' || (n % k.keys), 1 + n / k.keys, 'movie.created',
           jsonb_build_object('id', gen_random_uuid()::text, 'type', 'movie', 'action', 'created',
                              'source', 'test', 'sequence', 1 + n / k.keys, 'payload', jsonb_build_object('n', n))
    FROM (SELECT CAST(:keys AS int) AS keys) AS k, generate_series(0, CAST(:rows AS int) - 1) AS n
    """
)
_PENDING = text("SELECT count(*) FROM outbox WHERE topic = :topic AND published_at IS NULL")


def _published_counts(log: str) -> int:
    return sum(int(n) for n in re.findall(r"outbox relay: published (\d+) events", log))


def test_two_workers_drain_one_backlog_each_row_once_in_key_order(db_url, redis_url, kafka_brokers):
    topic = f"test-scaleout-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka_brokers})
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(30)
    env = {"REDIS_URL": private_redis_url(redis_url, REDIS_DB), "KAFKA_BROKERS": kafka_brokers, "LOG_LEVEL": "INFO"}
    engine = get_engine()
    try:
        with running("scaleout-worker-a", "worker", env=env, health_path=None) as a, \
                running("scaleout-worker-b", "worker", env=env, health_path=None) as b:
            for worker in (a, b):  # both consume the queue before the backlog appears
                wait_until(lambda w=worker: " ready." in w.log_path.read_text(errors="replace"), timeout=60,
                           message=f"{worker.name} ready")
            logged_before = {w.name: _published_counts(w.log_path.read_text(errors="replace")) for w in (a, b)}
            with engine.begin() as conn:
                conn.execute(_INSERT, {"topic": topic, "keys": KEYS, "rows": ROWS})
            with running("scaleout-beat", "worker.beat", env=env, health_path=None):
                wait_until(lambda: _count(engine, topic) == 0, timeout=180, interval=0.5, message="backlog relayed")
            shares = {w.name: _published_counts(w.log_path.read_text(errors="replace")) - logged_before[w.name]
                      for w in (a, b)}

        envelopes = read_range(kafka_brokers, topic)
        seen = Counter((e["_key"], e["sequence"]) for e in envelopes)
        assert len(seen) == ROWS and max(seen.values()) == 1  # every row once
        by_partition_key: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
        for e in envelopes:
            by_partition_key[(e["_partition"], e["_key"])].append((e["_offset"], e["sequence"]))
        for (_p, key), records in by_partition_key.items():
            sequences = [seq for _offset, seq in sorted(records)]
            assert sequences == sorted(sequences), f"{key} out of order"
        assert all(share > 0 for share in shares.values()), shares  # the work was shared
    finally:
        admin.delete_topics([topic])


def _count(engine, topic: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(_PENDING, {"topic": topic})
