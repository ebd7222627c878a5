"""Fixtures of the relay tests: worker and beat as real processes, a private Redis queue, and a
throw-away Kafka broker the fault test may kill without touching the shared one."""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.support.processes import running

# A Redis database of its own keeps the stack's worker from taking the tests' relay tasks.
TEST_REDIS_DB = 13


def private_redis_url(redis_url: str, db: int = TEST_REDIS_DB) -> str:
    """``redis_url`` with its database number replaced."""
    parts = urlsplit(redis_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def _port_pair() -> int:
    """A port ``p`` with ``p`` and ``p + 1`` free (the broker's PLAINTEXT and controller ports)."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair")


class PrivateKafka:
    """A single-node KRaft broker in a temporary directory, built by the stack's own code."""

    def __init__(self) -> None:
        from cinemaabyss.stack.kafka_broker import Kafka
        from cinemaabyss.stack.paths import StackPaths

        self.dir = Path(tempfile.mkdtemp(prefix="cinemaabyss-kafka-"))
        paths = StackPaths(self.dir)
        paths.ensure()
        self.broker = Kafka(paths, _port_pair())

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    def start(self) -> None:
        """Start (or restart on the same data) and make sure the domain topics exist."""
        self.broker.start()
        self.broker.ensure_topics()

    def pid(self) -> int | None:
        return self.broker.pid_file.live_pid()

    def destroy(self) -> None:
        self.broker.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def private_kafka(kafka_brokers):
    """A throw-away broker (needs the stack's cached Kafka jars, as the shared one does)."""
    kafka = PrivateKafka()
    try:
        kafka.start()
        yield kafka
    finally:
        kafka.destroy()


def relay_env(redis_url: str, brokers: str) -> dict[str, str]:
    """Environment of a worker/beat pair relaying the test database to ``brokers``."""
    return {"REDIS_URL": private_redis_url(redis_url), "KAFKA_BROKERS": brokers}


@pytest.fixture(scope="module")
def relay(db_url, redis_url, kafka_brokers):
    """``python -m worker`` and ``python -m worker.beat`` on the shared broker."""
    env = relay_env(redis_url, kafka_brokers)
    with running("worker", "worker", env=env, health_path=None), \
            running("beat", "worker.beat", env=env, health_path=None):
        yield env


@pytest.fixture(scope="module")
def private_pipeline(db_url, redis_url, private_kafka):
    """Worker, beat and the events service (with its consumers) all on the private broker."""
    env = relay_env(redis_url, private_kafka.bootstrap)
    from tests.support.processes import free_port

    with running("worker-private", "worker", env=env, health_path=None), \
            running("beat-private", "worker.beat", env=env, health_path=None), \
            running("events-private", "domain_services.events", env=env, port=free_port(),
                    health_path="/api/events/health") as events:
        yield {"env": env, "events": events, "kafka": private_kafka}
