"""Fixtures of the relay and consumer tests: worker, beat and consumers as real processes, a
private Redis queue, and a throw-away Kafka broker the fault tests may kill without touching
the shared one."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.support.processes import free_port, running
from tests.worker.kafka_private import PrivateKafka

PAYMENTS_CONSUMER = "domain_services.payments.consumer"
# A Redis database of its own keeps the stack's worker from taking the tests' relay tasks.
TEST_REDIS_DB = 13


def private_redis_url(redis_url: str, db: int = TEST_REDIS_DB) -> str:
    """``redis_url`` with its database number replaced."""
    parts = urlsplit(redis_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


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
    """Worker, beat, the events service (with its consumer) and the payments consumer, all on the
    private broker."""
    env = relay_env(redis_url, private_kafka.bootstrap)

    with running("worker-private", "worker", env=env, health_path=None), \
            running("beat-private", "worker.beat", env=env, health_path=None), \
            running("payments-consumer-private", PAYMENTS_CONSUMER, env=env, health_path=None) as payments, \
            running("events-private", "domain_services.events", env=env, port=free_port(),
                    health_path="/api/events/health") as events:
        yield {"env": env, "events": events, "payments": payments, "kafka": private_kafka}
