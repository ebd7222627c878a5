"""Kafka client configuration shared by the outbox relay, the events API and the consumers.

Every producer in the system is idempotent with ``acks=all`` (docs/architecture.md §5): a retry inside
librdkafka never writes a message twice, and an acknowledged message is on every in-sync
replica. Clients are created by the process that uses them (never at import time) and kept
for the life of that process.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from confluent_kafka import Consumer

from kernel.settings import Settings

log = logging.getLogger(__name__)

# librdkafka's own log level (syslog numbering): 3 = errors only. Its "broker down" chatter
# at the default level would drown the structured lines of our processes.
CLIENT_LOG_LEVEL = 3
# A message not acknowledged within this time fails with _MSG_TIMED_OUT; it bounds how long a
# request (events API) or a relay batch waits while the broker is unreachable.
DEFAULT_DELIVERY_TIMEOUT_MS = 5000


def client_config(settings: Settings, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What every Kafka client of ours sets (brokers, librdkafka's log level); ``extra`` adds or overrides.

    The one builder of client settings: producers, consumers and admin clients, the console's
    included, start from it.
    """
    return {"bootstrap.servers": settings.kafka_brokers, "log_level": CLIENT_LOG_LEVEL, **(extra or {})}


def producer_config(
    settings: Settings,
    *,
    delivery_timeout_ms: int = DEFAULT_DELIVERY_TIMEOUT_MS,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Idempotent producer settings; ``extra`` adds or overrides librdkafka properties."""
    return client_config(settings, {
        "enable.idempotence": True,
        "acks": "all",
        # a few ms of batching buys throughput under load and costs almost nothing idle
        "linger.ms": 2,
        "compression.type": "lz4",
        "message.timeout.ms": delivery_timeout_ms,
        "socket.connection.setup.timeout.ms": min(delivery_timeout_ms, 3000),
        "reconnect.backoff.max.ms": 1000,
        **(extra or {}),
    })


def consumer_config(group: str, settings: Settings, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Consumer settings: offsets committed by the application only after processing."""
    return client_config(settings, {
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 10000,
        **(extra or {}),
    })


def make_consumer(group: str, settings: Settings, extra: Mapping[str, Any] | None = None) -> Consumer:
    """A consumer of ``group`` (subscribe it yourself)."""
    return Consumer(consumer_config(group, settings, extra))


def encode(envelope: dict[str, Any]) -> bytes:
    """The wire form of an envelope: compact UTF-8 JSON."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def decode(value: bytes | None) -> dict[str, Any] | None:
    """Parse a message value into an envelope dict; ``None`` for anything that is not one."""
    if not value:
        return None
    try:
        data = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


class PublishError(Exception):
    """The broker did not acknowledge a message."""
