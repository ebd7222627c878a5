"""The consumer loop's decisions with fakes (no Kafka, no database): retry, dead-letter, never lose."""

from __future__ import annotations

import threading

import pytest
from psycopg import OperationalError as PgOperationalError
from sqlalchemy.exc import OperationalError

from eventing.consumer import ConsumerLoop, Delivery
from eventing.consumer_retry import (
    DeadLetter,
    DependencyUnavailable,
    PoisonMessage,
    Retry,
    RetryPolicy,
    is_transient,
)

FAST = RetryPolicy(max_attempts=3, backoff_s=0.0, max_backoff_s=0.0)


def db_down() -> OperationalError:
    return OperationalError("SELECT 1", {}, PgOperationalError("connection refused"))


# -- the pure decision ---------------------------------------------------------------------------


@pytest.mark.parametrize("error", [db_down(), PgOperationalError("gone"), ConnectionResetError(), TimeoutError(),
                                   DependencyUnavailable("dlq down")])
def test_dependency_failures_are_transient_and_never_dead_lettered(error):
    policy = RetryPolicy(max_attempts=3, backoff_s=0.2, max_backoff_s=5)
    assert is_transient(error)
    assert [policy.decide(error, n) for n in (1, 3, 50)] == [Retry(0.2), Retry(0.8), Retry(5)]


def test_an_error_caused_by_a_dropped_connection_is_transient():
    try:
        try:
            raise db_down()
        except OperationalError as exc:
            raise RuntimeError("handler wrapped it") from exc
    except RuntimeError as wrapped:
        assert is_transient(wrapped)


def test_handler_failure_is_retried_a_bounded_number_of_times_then_dead_lettered():
    policy = RetryPolicy(max_attempts=3, backoff_s=0.2, max_backoff_s=5)
    error = ValueError("invalid literal for int() with base 10: 'abc'")
    assert not is_transient(error)
    assert [policy.decide(error, n) for n in (1, 2, 3)] == [Retry(0.2), Retry(0.4), DeadLetter()]


def test_a_poison_message_is_dead_lettered_at_once():
    assert RetryPolicy(max_attempts=5).decide(PoisonMessage("not an envelope"), 1) == DeadLetter()


# -- the loop over a fake consumer ---------------------------------------------------------------


class FakeMessage:
    """The parts of ``confluent_kafka.Message`` the loop reads."""

    def __init__(self, topic: str, partition: int, offset: int, value: bytes) -> None:
        self._topic, self._partition, self._offset, self._value = topic, partition, offset, value

    def topic(self):
        return self._topic

    def partition(self):
        return self._partition

    def offset(self):
        return self._offset

    def value(self):
        return self._value

    def key(self):
        return b"k"

    def headers(self):
        return None

    def error(self):
        return None


class FakeConsumer:
    """One-topic log with per-partition positions, seeks and synchronous commits."""

    def __init__(self, log: dict[int, list[bytes]], topic: str = "payment-events") -> None:
        self.log = {p: [FakeMessage(topic, p, i, v) for i, v in enumerate(values)] for p, values in log.items()}
        self.position = dict.fromkeys(log, 0)
        self.committed: dict[int, int] = {}

    def consume(self, num_messages: int, timeout: float):
        out = []
        for p, messages in self.log.items():
            out.extend(messages[self.position[p]:])
            self.position[p] = len(messages)
        return out[:num_messages]

    def seek(self, tp):
        self.position[tp.partition] = tp.offset

    def commit(self, offsets, asynchronous: bool):
        assert not asynchronous
        for tp in offsets:
            assert tp.offset >= self.committed.get(tp.partition, 0), "commit went backwards"
            self.committed[tp.partition] = tp.offset


class FakeDeadLetters:
    def __init__(self, fail_times: int = 0) -> None:
        self.sent: list[tuple[int, int, str, str]] = []
        self.fail_times = fail_times

    def send(self, message, group, error):
        if self.fail_times:
            self.fail_times -= 1
            raise DependencyUnavailable("broker down")
        self.sent.append((message.partition(), message.offset(), group, type(error).__name__))
        return f"{message.topic()}.dlq", 0, len(self.sent) - 1


def envelope(n: int, user: object = 1) -> bytes:
    return f'{{"id": "e{n}", "type": "payment", "payload": {{"user_id": {user!r}}}}}'.replace("'", '"').encode()


class Handler:
    """Records handled ids; ``int(user_id)`` fails on a poison message; ``down`` simulates PostgreSQL down."""

    def __init__(self) -> None:
        self.handled: list[str] = []
        self.down = False

    def __call__(self, batch: list[Delivery]) -> None:
        for d in batch:
            if self.down:
                raise db_down()
            int(d.envelope["payload"]["user_id"])
            if d.envelope["id"] not in self.handled:  # idempotent, like processed_events
                self.handled.append(d.envelope["id"])


def run_steps(loop: ConsumerLoop, steps: int) -> None:
    for _ in range(steps):
        loop.step()


def test_poison_goes_to_the_dead_letter_sink_and_the_partition_moves_on():
    consumer = FakeConsumer({0: [envelope(1), envelope(2, "abc"), envelope(3)], 1: [envelope(4)]})
    handler, sink = Handler(), FakeDeadLetters()
    loop = ConsumerLoop("payments-reactions", consumer, handler, sink, threading.Event(), policy=FAST)

    run_steps(loop, 5)

    assert sorted(handler.handled) == ["e1", "e3", "e4"]
    assert sink.sent == [(0, 1, "payments-reactions", "ValueError")]
    assert consumer.committed == {0: 3, 1: 1}


def test_poison_is_tried_max_attempts_times_before_dead_lettering():
    consumer = FakeConsumer({0: [envelope(1, "abc"), envelope(2)]})
    handler, sink = Handler(), FakeDeadLetters()
    loop = ConsumerLoop("g", consumer, handler, sink, threading.Event(), policy=FAST)

    loop.step()  # batch fails; one by one: attempt 1 fails, rewound
    loop.step()  # attempt 2
    assert sink.sent == [] and consumer.committed == {}
    loop.step()  # attempt 3 → dead letter, then e2
    assert sink.sent == [(0, 0, "g", "ValueError")]
    assert handler.handled == ["e2"]
    assert consumer.committed == {0: 2}


def test_database_down_dead_letters_nothing_and_handles_everything_when_it_returns():
    consumer = FakeConsumer({0: [envelope(1), envelope(2)], 1: [envelope(3)]})
    handler, sink = Handler(), FakeDeadLetters()
    handler.down = True
    loop = ConsumerLoop("g", consumer, handler, sink, threading.Event(), policy=FAST)

    run_steps(loop, 20)  # far more than max_attempts
    assert sink.sent == [] and consumer.committed == {} and handler.handled == []

    handler.down = False
    run_steps(loop, 2)
    assert sorted(handler.handled) == ["e1", "e2", "e3"]
    assert consumer.committed == {0: 2, 1: 1}
    assert sink.sent == []


def test_undecodable_value_is_dead_lettered_at_once_when_envelopes_are_required():
    consumer = FakeConsumer({0: [b"\xff not json", envelope(2)]})
    handler, sink = Handler(), FakeDeadLetters()
    loop = ConsumerLoop("g", consumer, handler, sink, threading.Event(), policy=FAST, require_envelope=True)

    loop.step()

    assert sink.sent == [(0, 0, "g", "PoisonMessage")]
    assert handler.handled == ["e2"]
    assert consumer.committed == {0: 2}


def test_unacknowledged_dead_letter_keeps_the_message_uncommitted_until_it_is():
    consumer = FakeConsumer({0: [envelope(1, "abc"), envelope(2)]})
    handler, sink = Handler(), FakeDeadLetters(fail_times=2)
    loop = ConsumerLoop("g", consumer, handler, sink, threading.Event(), policy=FAST)

    run_steps(loop, 4)  # attempts 1-3; the dead letter fails twice
    assert consumer.committed == {} and handler.handled == []
    run_steps(loop, 2)
    assert sink.sent == [(0, 0, "g", "ValueError")]
    assert handler.handled == ["e2"]
    assert consumer.committed == {0: 2}

