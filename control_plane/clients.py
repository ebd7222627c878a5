"""Long-lived clients of the console process: one Redis client, one Kafka admin, one producer.

Built from the settings the app was created with (``app.config["SETTINGS"]``, set by
:func:`control_plane.create_app`), lazily on first use (never at import time), and cached for
the life of the process, one per settings value. Every call on them uses short timeouts so a
down dependency costs a page at most ~1-2 s. Call the accessors in the request's thread: a
worker thread has no app to read the settings from.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import redis
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from flask import current_app

from eventing.kafka import client_config, consumer_config, producer_config
from kernel.settings import Settings

KAFKA_TIMEOUT = 2.0  # seconds for metadata / admin calls
#: What the console changes in the shared Kafka client settings: short socket timeouts, and
#: no librdkafka log lines (a down broker would flood stderr; the console shows a banner).
CONSOLE_KAFKA: dict[str, Any] = {
    "socket.timeout.ms": 2000,
    "socket.connection.setup.timeout.ms": 2000,
    "reconnect.backoff.max.ms": 1000,
    "log_level": 0,
}
VIEWER_GROUP = "cinemaabyss-console-viewer"


def app_settings() -> Settings:
    """The settings the running console app was created with."""
    return current_app.config["SETTINGS"]


def kafka_admin() -> AdminClient:
    """The process's AdminClient (one per settings)."""
    return _kafka_admin(app_settings())


def kafka_producer() -> Producer:
    """The process's producer for test messages and republishing."""
    return _kafka_producer(app_settings())


def kafka_consumer_config() -> dict[str, Any]:
    """Settings of the viewer's read-only consumers: no group commits, EOF events on."""
    return consumer_config(VIEWER_GROUP, app_settings(), {**CONSOLE_KAFKA, "enable.partition.eof": True,
                                                      "fetch.wait.max.ms": 10, "session.timeout.ms": 6000})


def redis_client() -> redis.Redis:
    """The process's Redis client (live counters), with short socket timeouts."""
    return _redis_client(app_settings().redis_url)


@lru_cache(maxsize=4)
def _kafka_admin(config: Settings) -> AdminClient:
    return AdminClient(client_config(config, CONSOLE_KAFKA))


@lru_cache(maxsize=4)
def _kafka_producer(config: Settings) -> Producer:
    return Producer(producer_config(config, extra=CONSOLE_KAFKA))


@lru_cache(maxsize=4)
def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
