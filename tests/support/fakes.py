"""Fakes for fast tests: a session for the unit of work, a Kafka producer, a clock.

Each fake subclasses the real class it stands in for (SQLAlchemy's ``Session``,
confluent-kafka's ``Producer``), so code under test sees the real type and a renamed or
removed method fails here instead of drifting silently. Nothing here connects anywhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from sqlalchemy.orm import Session

from kernel import db


class _Scalar:
    def __init__(self, value: Any) -> None:
        self._value = value

    def scalar_one(self) -> Any:
        return self._value


class FakeSession(Session):
    """A session that records what a unit of work did instead of talking to PostgreSQL.

    ``added`` holds the objects passed to :meth:`add`; ``committed`` / ``rolled_back`` say how
    the transaction ended. The outbox writer's per-key sequence statement is answered from an
    in-memory counter, like ``outbox_sequences`` would.
    """

    def __init__(self) -> None:
        super().__init__()  # no bind: any real query would fail loudly
        self.added: list[Any] = []
        self.statements: list[tuple[str, dict[str, Any]]] = []
        self.committed = False
        self.rolled_back = False
        self.closed = False
        self._sequences: dict[tuple[str, str], int] = defaultdict(int)

    def add(self, instance: object, _warn: bool = True) -> None:
        self.added.append(instance)

    def execute(self, statement: Any, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        sql = str(statement)
        self.statements.append((sql, dict(params or {})))
        if "outbox_sequences" in sql:
            key = (params["topic"], params["key"])
            self._sequences[key] += 1
            return _Scalar(self._sequences[key])
        raise NotImplementedError(f"FakeSession cannot run: {sql[:80]}")

    def commit(self) -> None:
        self.committed = True

    def rollback(self) -> None:
        self.rolled_back = True

    def close(self) -> None:
        self.closed = True


@contextmanager
def fake_unit_of_work(session: FakeSession | None = None) -> Iterator[db.UnitOfWork]:
    """The real :func:`db.unit_of_work` protocol (commit, rollback, after-commit) over a fake session."""
    session = session or FakeSession()
    with db.unit_of_work(session_factory=lambda: session) as uow:
        yield uow


@dataclass
class _Pending:
    topic: str
    key: bytes | None
    value: bytes | None
    on_delivery: Callable[[KafkaError | None, Any], None] | None


@dataclass
class FakeMessage:
    """What a delivery report carries."""

    _topic: str
    _key: bytes | None
    _value: bytes | None
    _offset: int

    def topic(self) -> str:
        return self._topic

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value

    def offset(self) -> int:
        return self._offset


@dataclass
class FakeProducer(Producer):
    """A Kafka producer kept in memory; delivery reports are served by ``poll``/``flush``.

    Knobs: ``fail_topics`` get an error report, ``full_after`` raises ``BufferError`` once that
    many messages are queued (librdkafka's local queue full), ``unknown_topics`` raise
    ``KafkaException`` at produce time, ``silent`` keeps reports back (a broker that never
    answers: ``flush`` returns how many are still queued).
    """

    fail_topics: set[str] = field(default_factory=set)
    unknown_topics: set[str] = field(default_factory=set)
    full_after: int | None = None
    silent: bool = False
    delivered: list[FakeMessage] = field(default_factory=list)
    queued: list[_Pending] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Producer.__init__ would start librdkafka threads; the subclass needs none of that.
        pass

    def produce(self, topic: str, value: bytes | None = None, key: bytes | None = None, *args: Any,
                on_delivery: Callable[[KafkaError | None, Any], None] | None = None, **kwargs: Any) -> None:
        if topic in self.unknown_topics:
            raise KafkaException(KafkaError(KafkaError._UNKNOWN_TOPIC))
        if self.full_after is not None and len(self.queued) >= self.full_after:
            raise BufferError("Local: Queue full")
        self.queued.append(_Pending(topic, key, value, on_delivery or kwargs.get("callback")))

    def poll(self, timeout: float | None = None) -> int:
        if self.silent:
            return 0
        served = 0
        while self.queued:
            pending = self.queued.pop(0)
            if pending.topic in self.fail_topics:
                error: KafkaError | None = KafkaError(KafkaError._MSG_TIMED_OUT)
                message = FakeMessage(pending.topic, pending.key, pending.value, -1)
            else:
                error = None
                message = FakeMessage(pending.topic, pending.key, pending.value, len(self.delivered))
                self.delivered.append(message)
            if pending.on_delivery is not None:
                pending.on_delivery(error, message)
            served += 1
        return served

    def flush(self, timeout: float | None = None) -> int:
        self.poll(0)
        return len(self.queued)

    def __len__(self) -> int:
        return len(self.queued)


class FakeClock:
    """A clock that moves only when told: ``clock()`` / ``clock.time()`` in epoch seconds."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def time(self) -> float:
        """The current epoch seconds."""
        return self.now

    def monotonic(self) -> float:
        """Same timeline, for code that measures durations."""
        return self.now

    def second(self) -> int:
        """The current unix second (what the gateway's error window buckets by)."""
        return int(self.now)

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds
