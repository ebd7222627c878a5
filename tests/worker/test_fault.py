"""Fault injection: the broker is killed and restarted during sustained domain writes.

Every outbox event must reach the topic (counted by event id); duplicates caused by lost
acknowledgements are allowed and must be absorbed by the idempotent ``events-service``
consumer (each id processed once). Runs on a private broker, never the shared one.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections import Counter

import pytest
from sqlalchemy import select

from domain_services.movies import services as movies
from kernel.db import read_session
from kernel.models import OutboxEvent, ProcessedEvent
from tests.events.kafka_read import read_range
from tests.support.processes import wait_until

pytestmark = pytest.mark.slow


class Writer(threading.Thread):
    """Creates movies until stopped, remembering their ids."""

    def __init__(self, prefix: str) -> None:
        super().__init__(daemon=True)
        self.prefix, self.ids, self.stop = prefix, [], threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.wait(0.01):
            n += 1
            self.ids.append(movies.create_movie({"title": f"{self.prefix} {n}", "description": "", "rating": 5})["id"])


def _event_ids(movie_ids: list[int]) -> list[str]:
    with read_session() as session:
        return [str(i) for i in session.scalars(select(OutboxEvent.id).where(
            OutboxEvent.event_type == "movie.created", OutboxEvent.key.in_([str(m) for m in movie_ids])))]


def _unpublished(event_ids: list[str]) -> int:
    with read_session() as session:
        return len(list(session.scalars(select(OutboxEvent.id).where(
            OutboxEvent.id.in_([uuid.UUID(e) for e in event_ids]), OutboxEvent.published_at.is_(None)))))


def _processed(event_ids: list[str]) -> int:
    with read_session() as session:
        return len(list(session.scalars(select(ProcessedEvent.event_id).where(
            ProcessedEvent.consumer == "events-service", ProcessedEvent.event_id.in_(event_ids)))))


def test_broker_killed_and_restarted_loses_nothing(private_pipeline):
    kafka = private_pipeline["kafka"]
    writer = Writer(f"Fault {uuid.uuid4().hex[:6]}")
    writer.start()
    try:
        wait_until(lambda: len(writer.ids) >= 50, timeout=20, message="writes before the fault")
        pid = kafka.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: kafka.pid() is None, timeout=10, message="broker gone")
        written_while_down = len(writer.ids)
        wait_until(lambda: len(writer.ids) >= written_while_down + 100, timeout=30, message="writes while down")
        kafka.start()
        restarted_at = len(writer.ids)
        wait_until(lambda: len(writer.ids) >= restarted_at + 50, timeout=30, message="writes after restart")
    finally:
        writer.stop.set()
        writer.join(10)

    event_ids = _event_ids(writer.ids)
    assert len(event_ids) == len(writer.ids)
    started = time.monotonic()
    wait_until(lambda: _unpublished(event_ids) == 0, timeout=90, interval=0.5, message="every event relayed")
    print(f"relay caught up {time.monotonic() - started:.1f}s after the writes stopped")

    def read_topic() -> Counter:
        return Counter(e.get("id") for e in read_range(kafka.bootstrap, "movie-events"))

    # right after an unclean restart a partition can briefly report no leader or a stale end
    # offset; re-read until the metadata has settled (bounded by the deadline)
    holder: dict[str, Counter] = {}

    def all_on_topic() -> bool:
        holder["topic"] = read_topic()
        return all(holder["topic"][e] for e in event_ids)

    try:
        wait_until(all_on_topic, timeout=60, interval=1.0, message="every event on the topic")
    finally:
        on_topic = holder.get("topic", Counter())
        missing = [e for e in event_ids if on_topic[e] == 0]
        duplicates = sum(on_topic[e] - 1 for e in event_ids if on_topic[e])
        print(f"{len(event_ids)} events, {len(missing)} lost, {duplicates} duplicates on the topic "
              f"(down after {written_while_down} writes, restarted after {restarted_at})")
    assert missing == []

    wait_until(lambda: _processed(event_ids) == len(event_ids), timeout=60, interval=0.5,
               message="every event processed by events-service")
    first_time = Counter()
    for line in private_pipeline["events"].log_path.read_text().splitlines():
        if line.startswith("{") and '"consumer":"events-service"' in line:
            record = json.loads(line)
            if record["id"] in on_topic and not record["duplicate"]:
                first_time[record["id"]] += 1
    assert all(first_time[e] == 1 for e in event_ids), "an event was processed more than once"
