"""Outbox backlog benchmark: a million pending rows drained by one relay worker.

1. Drain: N rows (default 1,000,000, over 10,000 keys) are written while no relay runs, then
   ``python -m worker`` and ``python -m worker.beat`` start. Measured: time to drain (events/s),
   the worker's RSS sampled every second (peak and end; bounded means it does not grow with
   the backlog), and the topic read back from offset 0: every ``(key, seq)`` exactly once
   (0 lost, 0 duplicated) and each key's ``seq`` strictly increasing in partition order.
2. Outage: the same on a private broker (``tests/worker/kafka_private.py``) that is stopped
   once a third of the backlog is relayed and started again ``--outage-s`` later; the same
   checks, plus how long the relay took to resume after the broker came back.

Runs against a database of its own (``<database>_bench_backlog``, created and migrated on
first use), a private Redis database for the Celery queue and throw-away topics, so neither
the stack's data nor its topics see the load.

Run: ``.venv/bin/python bench/backlog.py [--rows N] [--outage-rows N] [--outage-s S] [--skip-outage]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROWS = 1_000_000
KEYS = 10_000
INSERT_CHUNK = 100_000
REDIS_DB = 12  # the Celery queue of this bench's worker (the relay bench uses 14, tests 13)
PARTITIONS = 3


def bench_database(url: str, suffix: str, *, fresh: bool = False) -> str:
    """Create and migrate ``<db>_<suffix>`` if needed; returns its URL (the stack's data is never used).

    ``fresh`` drops it first: a small database is rebuilt in seconds and then matches the
    migrations exactly, even after a revision was edited in place during development.
    """
    from alembic import command
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from cinemaabyss.commands.db import alembic_config

    base = make_url(url)
    name = f"{base.database.removesuffix('_test')}_{suffix}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if fresh:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    bench_url = base.set(database=name).render_as_string(hide_password=False)
    config = alembic_config(bench_url)
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")
    return bench_url


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` and all its descendants in MB (gunicorn's workers are children)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, ()))
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so ``finally`` blocks stop the processes a bench started."""
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def load_average() -> str:
    """``uptime``'s three load averages, for the record next to every figure."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class RssSampler:
    """Samples the RSS of some processes every ``interval`` seconds in a background thread."""

    def __init__(self, pids: dict[str, int], interval: float = 1.0) -> None:
        self.pids = pids
        self.interval = interval
        self.samples: dict[str, list[tuple[float, float]]] = {name: [] for name in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic() - started
            for name, pid in self.pids.items():
                self.samples[name].append((now, rss_mb(pid)))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


_INSERT = """
INSERT INTO outbox (id, topic, key, seq, event_type, payload)
SELECT gen_random_uuid(), :topic, 'k' || (n % keys), seq, 'movie.created',
       jsonb_build_object('id', gen_random_uuid()::text, 'type', 'movie', 'action', 'created',
                          'timestamp', now()::text, 'source', 'bench', 'sequence', seq,
                          'payload', jsonb_build_object('movie_id', n, 'n', n, 'title', 'Backlog movie ' || n,
                                                        'description', repeat('x', 200)))
FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS n,
     LATERAL (SELECT CAST(:keys AS bigint) AS keys) AS k,
     LATERAL (SELECT 1 + n / CAST(:keys AS bigint) AS seq) AS s
"""


def write_backlog(engine, topic: str, rows: int, keys: int = KEYS) -> float:
    """``rows`` pending rows numbered 0..rows-1 over ``keys`` keys; key ``k<n % keys>`` gets ``seq``
    1, 2, 3 ... in ``n`` order. Returns the seconds it took."""
    from sqlalchemy import text

    started = time.perf_counter()
    for first in range(0, rows, INSERT_CHUNK):
        last = min(rows, first + INSERT_CHUNK) - 1
        with engine.begin() as conn:  # one transaction per chunk: each chunk is a commit, as in life
            conn.execute(text(_INSERT), {"topic": topic, "keys": keys, "first": first, "last": last})
    with engine.begin() as conn:
        conn.execute(text("ANALYZE outbox"))
    return time.perf_counter() - started


def pending(engine) -> int:
    """Rows not yet published."""
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))


@dataclass
class TopicCheck:
    """What reading a topic back from offset 0 found."""

    messages: int = 0
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)


def check_topic(brokers: str, topic: str, rows: int, keys: int = KEYS) -> TopicCheck:
    """Read ``topic`` from the beginning: each ``n`` once, each key's ``seq`` increasing."""
    from confluent_kafka import Consumer, TopicPartition

    started = time.perf_counter()
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": f"bench-backlog-{uuid.uuid4().hex[:8]}",
                         "enable.auto.commit": False, "log_level": 3, "fetch.max.bytes": 52428800})
    result = TopicCheck()
    seen = bytearray(rows)
    last_seq: dict[str, int] = {}
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        end = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
        consumer.assign([TopicPartition(topic, p, 0) for p, hw in end.items() if hw > 0])
        remaining = sum(end.values())
        while remaining > 0:
            batch = consumer.consume(num_messages=10_000, timeout=10)
            if not batch:
                raise RuntimeError(f"{remaining} messages of {topic} did not arrive")
            for msg in batch:
                if msg.error():
                    continue
                remaining -= 1
                result.messages += 1
                event = json.loads(msg.value())
                n, seq, key = event["payload"]["n"], event["sequence"], msg.key().decode()
                if seen[n]:
                    result.duplicated += 1
                seen[n] = 1
                if seq <= last_seq.get(key, 0) and len(result.examples) < 5:
                    result.examples.append(f"{key}: seq {seq} after {last_seq[key]}")
                result.out_of_order += seq <= last_seq.get(key, 0)
                last_seq[key] = max(seq, last_seq.get(key, 0))
    finally:
        consumer.close()
    result.lost = rows - sum(seen)
    result.seconds = time.perf_counter() - started
    return result


@dataclass
class Drain:
    """One drain's figures."""

    rows: int
    seconds: float
    rss: list[tuple[float, float]]
    beat_rss: list[tuple[float, float]]
    check: TopicCheck
    resumed_after_s: float | None = None
    outage_s: float | None = None

    def report(self, title: str) -> str:
        rss = [mb for _t, mb in self.rss if mb]
        first_half = rss[: max(1, len(rss) // 2)]
        lines = [
            f"{title}: {self.rows:,} events in {self.seconds:.1f}s = {self.rows / self.seconds:,.0f} events/s "
            f"(load {load_average()})",
            f"  worker RSS: start {rss[0]:.0f} MB, peak {max(rss):.0f} MB, end {rss[-1]:.0f} MB "
            f"(peak of first half {max(first_half):.0f} MB; {len(rss)} samples)",
            f"  topic read back in {self.check.seconds:.1f}s: {self.check.messages:,} messages, "
            f"lost {self.check.lost}, duplicated {self.check.duplicated}, out of order {self.check.out_of_order}"
            + (f" e.g. {self.check.examples}" if self.check.examples else ""),
        ]
        if self.outage_s is not None:
            resumed = "never" if self.resumed_after_s is None else f"{self.resumed_after_s:.1f}s"
            lines.append(f"  broker down {self.outage_s:.0f}s; relay resumed {resumed} after the broker was back")
        return "\n".join(lines)


def kill_broker(kafka) -> None:
    """SIGKILL the private broker (no clean shutdown: in-flight requests just vanish)."""
    import signal

    from tests.support.processes import wait_until

    pid = kafka.pid()
    if pid is not None:
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: kafka.pid() is None, timeout=10, message="broker gone")


def _start_relay(url: str, redis_url: str, brokers: str, tag: str):
    from tests.support.processes import start_process

    env = {"DATABASE_URL": url, "REDIS_URL": redis_url, "KAFKA_BROKERS": brokers, "LOG_LEVEL": "WARNING"}
    worker = start_process(f"bench-backlog-worker-{tag}", "worker", env=env, health_path=None)
    beat = start_process(f"bench-backlog-beat-{tag}", "worker.beat", env=env, health_path=None)
    return worker, beat


def drain(url: str, redis_url: str, brokers: str, topic: str, rows: int, *, outage=None,
          outage_s: float = 30.0, timeout: float = 3600.0) -> Drain:
    """Write the backlog, start the relay, wait until nothing is pending, read the topic back.

    ``outage``: a :class:`PrivateKafka`, killed once a third of the rows went out and started again
    ``outage_s`` later.
    """
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE outbox"))
    wrote = write_backlog(engine, topic, rows)
    print(f"  wrote {rows:,} pending rows in {wrote:.1f}s", flush=True)
    worker, beat = _start_relay(url, redis_url, brokers, topic[-8:])
    stopped_at = restarted_at = resumed_at = None
    try:
        with RssSampler({"worker": worker.popen.pid, "beat": beat.popen.pid}) as sampler:
            started = time.perf_counter()
            last_print = started
            left = rows
            while True:
                left = pending(engine)
                now = time.perf_counter()
                if now - last_print >= 30:
                    print(f"  {now - started:.0f}s: {left:,} pending, worker RSS "
                          f"{sampler.samples['worker'][-1][1]:.0f} MB", flush=True)
                    last_print = now
                if left == 0:
                    break
                if worker.popen.poll() is not None:
                    raise RuntimeError(f"worker exited with {worker.popen.returncode}; log {worker.log_path}")
                if now - started > timeout:
                    raise RuntimeError(f"backlog not drained in {timeout}s ({left} pending)")
                if outage is not None and stopped_at is None and left <= rows * 2 // 3:
                    kill_broker(outage)
                    stopped_at = time.perf_counter()
                    print(f"  broker stopped at {left:,} pending", flush=True)
                if stopped_at is not None and restarted_at is None and now - stopped_at >= outage_s:
                    before = left
                    outage.start()
                    restarted_at = time.perf_counter()
                    print(f"  broker started again at {before:,} pending", flush=True)
                if restarted_at is not None and resumed_at is None and left < before:
                    resumed_at = time.perf_counter()
                time.sleep(0.5)
            seconds = time.perf_counter() - started
    finally:
        worker.stop()
        beat.stop()
        engine.dispose()
    check = check_topic(brokers, topic, rows)
    with engine.begin() as conn:  # a million relayed rows are a gigabyte: do not keep them
        conn.execute(text("TRUNCATE outbox"))
    engine.dispose()
    return Drain(rows, seconds, sampler.samples["worker"], sampler.samples["beat"], check,
                 resumed_after_s=None if resumed_at is None else resumed_at - restarted_at,
                 outage_s=None if stopped_at is None else restarted_at - stopped_at)


def main() -> None:
    """Both phases; prints the figures."""
    from confluent_kafka.admin import AdminClient, NewTopic

    from kernel.settings import get_settings
    from tests.worker.conftest import private_redis_url

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--outage-rows", type=int, default=ROWS)
    parser.add_argument("--outage-s", type=float, default=30.0)
    parser.add_argument("--skip-outage", action="store_true")
    parser.add_argument("--skip-drain", action="store_true")
    args = parser.parse_args()
    exit_on_sigterm()

    settings = get_settings()
    url = bench_database(settings.database_url, "bench_backlog")
    redis_url = private_redis_url(settings.redis_url, REDIS_DB)
    print(f"backlog bench (load {load_average()}, {os.cpu_count()} cores)", flush=True)

    if not args.skip_drain:
        topic = f"bench-backlog-{uuid.uuid4().hex[:8]}"
        admin = AdminClient({"bootstrap.servers": settings.kafka_brokers})
        admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)])[topic].result(30)
        try:
            print(drain(url, redis_url, settings.kafka_brokers, topic, args.rows).report("backlog drain"),
                  flush=True)
        finally:
            admin.delete_topics([topic])

    if not args.skip_outage:
        from tests.worker.kafka_private import PrivateKafka

        kafka = PrivateKafka()
        try:
            kafka.start()
            topic = f"bench-backlog-outage-{uuid.uuid4().hex[:8]}"
            admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
            admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)])[topic].result(30)
            kafka.wait_for_leaders([topic])
            result = drain(url, redis_url, kafka.bootstrap, topic, args.outage_rows, outage=kafka,
                           outage_s=args.outage_s)
            print(result.report("backlog drain with the broker down part of the time"), flush=True)
        finally:
            kafka.destroy()


if __name__ == "__main__":
    main()
