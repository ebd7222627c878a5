"""One relay batch over an in-memory outbox and the fake producer: what is marked, what waits.

The fake engine answers the relay's own three statements (claim, mark published, mark
failed) the way PostgreSQL would for these rows; the real claim SQL, locking and backoff
arithmetic are covered against PostgreSQL in ``tests/worker/``.
"""

from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Engine

from tests.support.fakes import FakeProducer
from worker import relay


class Claimed(NamedTuple):
    id: uuid.UUID
    topic: str
    key: str
    seq: int
    payload: str
    head: bool


@dataclass
class Row:
    id: uuid.UUID
    topic: str
    key: str
    seq: int
    payload: str
    published: bool = False
    waiting: bool = False  # failed and backing off (available_at in the future)
    attempts: int = 0
    last_error: str | None = None


class _Result:
    def __init__(self, rows: list[Claimed]) -> None:
        self._rows = rows

    def all(self) -> list[Claimed]:
        return self._rows


class FakeOutboxEngine(Engine):
    """An ``Engine`` whose one connection serves the relay's statements from :attr:`rows`."""

    def __init__(self, rows: list[Row]) -> None:  # no dialect, no pool: nothing to connect
        self.rows = rows

    @contextmanager
    def begin(self):
        yield self

    def execute(self, statement: Any, params: dict[str, Any]) -> _Result | None:
        if statement is relay._CLAIM:
            return _Result(self._claim(params["limit"]))
        by_id = {row.id: row for row in self.rows}
        if statement is relay._MARK_PUBLISHED:
            for row_id in params["ids"]:
                by_id[row_id].published = True
            return None
        if statement is relay._MARK_FAILED:
            for row_id in params["ids"]:
                row = by_id[row_id]
                row.attempts, row.last_error, row.waiting = row.attempts + 1, params["error"], True
            return None
        raise AssertionError(f"unexpected statement: {statement}")

    def _claim(self, limit: int) -> list[Claimed]:
        pending = [r for r in self.rows if not r.published]

        def earlier(row: Row) -> list[Row]:
            return [p for p in pending if (p.topic, p.key) == (row.topic, row.key) and p.seq < row.seq]

        claimable = [r for r in pending if not r.waiting and not any(p.waiting for p in earlier(r))]
        return [Claimed(r.id, r.topic, r.key, r.seq, r.payload, not earlier(r)) for r in claimable[:limit]]


def _rows(*specs: tuple[str, str, int]) -> list[Row]:
    return [Row(uuid.uuid4(), topic, key, seq, json.dumps({"key": key, "seq": seq})) for topic, key, seq in specs]


def test_every_row_is_produced_in_key_order_and_marked_published():
    engine = FakeOutboxEngine(_rows(("movie-events", "1", 1), ("movie-events", "2", 1), ("movie-events", "1", 2)))
    producer = FakeProducer()
    result = relay.relay_batch(engine, producer)
    assert (result.claimed, result.ready, result.published, result.failed) == (3, 3, 3, 0)
    assert all(row.published for row in engine.rows)
    key1 = [json.loads(m.value())["seq"] for m in producer.delivered if m.key() == b"1"]
    assert key1 == [1, 2]


def test_a_refused_row_holds_back_its_key_but_not_the_others():
    engine = FakeOutboxEngine(_rows(("user-events", "9", 1), ("user-events", "9", 2), ("movie-events", "3", 1)))
    producer = FakeProducer(fail_topics={"user-events"})
    result = relay.relay_batch(engine, producer)
    first, second, movie = engine.rows
    assert movie.published
    assert not first.published and first.attempts == 1 and first.waiting and "timed out" in first.last_error.lower()
    # never produced: it must not overtake the row that failed, and it is not charged an attempt
    assert not second.published and second.attempts == 0
    assert (result.published, result.failed) == (1, 1)
    # next batch: the failed row is backing off, so its key is not even claimed
    assert relay.relay_batch(engine, FakeProducer()).claimed == 0


def test_a_full_local_queue_fails_the_row_with_its_error():
    engine = FakeOutboxEngine(_rows(("movie-events", "1", 1), ("movie-events", "2", 1)))
    result = relay.relay_batch(engine, FakeProducer(full_after=1, silent=True))
    assert result.failed == 2  # one refused by the queue, one never acknowledged
    assert any("Queue full" in error for error in result.errors)
    assert any("no delivery report" in error for error in result.errors)
    assert not any(row.published for row in engine.rows)


def test_rows_behind_an_unclaimed_earlier_row_wait():
    rows = _rows(("movie-events", "5", 1), ("movie-events", "5", 2))
    engine = FakeOutboxEngine(rows)
    claimed = engine._claim(limit=10)
    # another relay holds seq 1 (locked): only seq 2 is claimed, and it is not the key's head
    result_rows = relay.in_key_order([c for c in claimed if c.seq == 2])
    assert result_rows == []


def test_nothing_pending_produces_nothing():
    producer = FakeProducer()
    result = relay.relay_batch(FakeOutboxEngine([]), producer)
    assert (result.claimed, result.published) == (0, 0)
    assert producer.delivered == []
