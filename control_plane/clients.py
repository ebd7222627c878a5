"""Long-lived clients of the console process: one Redis client, one Kafka admin, one producer.

Created lazily on first use (never at import time) and cached for the life of the process;
every call on them uses short timeouts so a down dependency costs a page at most ~1-2 s.
"""

from __future__ import annotations

from functools import lru_cache

import redis
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from kernel.settings import get_settings

KAFKA_TIMEOUT = 2.0  # seconds for metadata / admin calls


def _kafka_base(brokers: str) -> dict[str, object]:
    return {
        "bootstrap.servers": brokers,
        "socket.timeout.ms": 2000,
        "socket.connection.setup.timeout.ms": 2000,
        "reconnect.backoff.max.ms": 1000,
        "log_level": 0,  # a down broker would flood stderr; the console shows a banner instead
    }


@lru_cache(maxsize=4)
def kafka_admin(brokers: str | None = None) -> AdminClient:
    """The process's AdminClient (one per broker list)."""
    return AdminClient(_kafka_base(brokers or get_settings().kafka_brokers))


@lru_cache(maxsize=4)
def kafka_producer(brokers: str | None = None) -> Producer:
    """The process's producer for test messages and republishing."""
    return Producer({**_kafka_base(brokers or get_settings().kafka_brokers), "acks": "all",
                     "enable.idempotence": True, "message.timeout.ms": 5000})


def kafka_consumer_config(brokers: str | None = None) -> dict[str, object]:
    """Settings of the viewer's read-only consumers: no group commits, EOF events on."""
    return {**_kafka_base(brokers or get_settings().kafka_brokers), "group.id": "cinemaabyss-console-viewer",
            "enable.auto.commit": False, "enable.partition.eof": True, "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 10, "session.timeout.ms": 6000}


@lru_cache(maxsize=4)
def redis_client(url: str | None = None) -> redis.Redis:
    """The process's Redis client (live counters), with short socket timeouts."""
    return redis.Redis.from_url(url or get_settings().redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
