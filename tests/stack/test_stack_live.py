"""Tests against the running local stack (``make test`` starts it with ``stack infra-up``)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from cinemaabyss.stack.apps import AppRunner
from cinemaabyss.stack.orchestrator import Stack
from cinemaabyss.stack.paths import StackPaths
from cinemaabyss.stack.processes import AppProcess
from cinemaabyss.stack.procs import _start_time, stop_group, wait_until
from kernel.settings import load_settings

INFRA = ("postgresql", "redis", "kafka")


@pytest.fixture(scope="module")
def stack() -> Stack:
    stack = Stack(load_settings(), say=lambda _line: None)
    states = {name: state for name, state, _ in stack.status()}
    if any(states[name] != "up" for name in INFRA):
        pytest.fail(f"local stack not up ({states}); run `make test` or `cinemaabyss stack infra-up`")
    return stack


def _infra_pids(stack: Stack) -> dict[str, int | None]:
    return {
        "postgresql": stack.postgres.running_pid(),
        "redis": stack.redis.pid_file.live_pid(),
        "kafka": stack.kafka.pid_file.live_pid(),
    }


def test_status_reports_infrastructure_up(stack: Stack) -> None:
    states = {name: state for name, state, _ in stack.status()}
    assert [states[name] for name in INFRA] == ["up", "up", "up"]


def test_domain_topics_exist_with_three_partitions(stack: Stack) -> None:
    topics = stack.kafka.admin().list_topics(timeout=10).topics
    for name in ("movie-events", "user-events", "payment-events"):
        assert len(topics[name].partitions) == 3


def test_kafka_round_trip(stack: Stack) -> None:
    """Produce to a fresh topic on the real broker and consume the same message back."""
    topic = f"stack-test-{uuid.uuid4().hex[:12]}"
    admin = AdminClient({"bootstrap.servers": stack.kafka.bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(timeout=30)
    try:
        value = f"hello {uuid.uuid4()}".encode()
        producer = Producer({"bootstrap.servers": stack.kafka.bootstrap, "acks": "all"})
        producer.produce(topic, key=b"k", value=value)
        assert producer.flush(15) == 0
        consumer = Consumer(
            {
                "bootstrap.servers": stack.kafka.bootstrap,
                "group.id": f"stack-test-{uuid.uuid4().hex[:8]}",
                "auto.offset.reset": "earliest",
            }
        )
        consumer.subscribe([topic])
        received = []

        def got_it() -> bool:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                received.append(message.value())
            return bool(received)

        try:
            assert wait_until(got_it, 30, interval_s=0)
        finally:
            consumer.close()
        assert received == [value]
    finally:
        admin.delete_topics([topic])[topic].result(timeout=30)


def test_infra_up_twice_changes_nothing(stack: Stack) -> None:
    before = _infra_pids(stack)
    stack.infra_up()
    assert _infra_pids(stack) == before
    assert all(before.values())


def test_app_process_start_is_idempotent_and_stop_kills_its_group(tmp_path: Path, monkeypatch) -> None:
    """An app process started twice keeps its pid; stopping it ends its child too."""
    from tests.support.processes import free_port

    port = free_port()
    paths = StackPaths(tmp_path)
    paths.ensure()
    monkeypatch.setenv("RUN_DIR", str(tmp_path))  # inherited by the fake app: where it reports its child
    settings = load_settings()
    fake = AppProcess("fake", "tests.stack.fake_app", port, "/health")
    runner = AppRunner(paths, settings)
    child_pid_file = tmp_path / "child.pid"
    try:
        assert runner.start(fake) is True
        pid = runner.pid_file(fake).live_pid()
        assert pid is not None and runner.healthy(fake)
        assert runner.start(fake) is False
        assert runner.pid_file(fake).live_pid() == pid
        assert wait_until(child_pid_file.exists, 10)
        child = int(child_pid_file.read_text())
        assert _start_time(child) is not None
    finally:
        assert stop_group(runner.pid_file(fake)) is True
    assert _start_time(pid) is None
    assert wait_until(lambda: _start_time(child) is None, 10)
