"""Kafka client configuration and the publisher shared by the outbox relay and the events API.

Every producer in the system is idempotent with ``acks=all`` (docs/architecture.md §5): a retry inside
librdkafka never writes a message twice, and an acknowledged message is on every in-sync
replica. Clients are created by the process that uses them (never at import time) and kept
for the life of that process.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer

from domain_services.shared.settings import Settings

log = logging.getLogger(__name__)

# librdkafka's own log level (syslog numbering): 3 = errors only. Its "broker down" chatter
# at the default level would drown the structured lines of our processes.
CLIENT_LOG_LEVEL = 3
# A message not acknowledged within this time fails with _MSG_TIMED_OUT; it bounds how long a
# request (events API) or a relay batch waits while the broker is unreachable.
DEFAULT_DELIVERY_TIMEOUT_MS = 5000

DeliveryCallback = Callable[[KafkaError | None, Message], None]


def producer_config(
    settings: Settings,
    *,
    delivery_timeout_ms: int = DEFAULT_DELIVERY_TIMEOUT_MS,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Idempotent producer settings; ``extra`` adds or overrides librdkafka properties."""
    config: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_brokers,
        "enable.idempotence": True,
        "acks": "all",
        # a few ms of batching buys throughput under load and costs almost nothing idle
        "linger.ms": 2,
        "compression.type": "lz4",
        "message.timeout.ms": delivery_timeout_ms,
        "socket.connection.setup.timeout.ms": min(delivery_timeout_ms, 3000),
        "reconnect.backoff.max.ms": 1000,
        "log_level": CLIENT_LOG_LEVEL,
    }
    config.update(extra or {})
    return config


def consumer_config(group: str, settings: Settings, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Consumer settings: offsets committed by the application only after processing."""
    config: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_brokers,
        "group.id": group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 10000,
        "log_level": CLIENT_LOG_LEVEL,
    }
    config.update(extra or {})
    return config


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


class Publisher:
    """One idempotent producer per process plus a thread serving its delivery reports.

    ``publish`` returns immediately; the callback runs on the poll thread when the broker has
    acknowledged (or finally rejected) the message. Callers that need to block use
    :meth:`publish_and_wait`; the events API bridges the callback into asyncio instead.
    """

    def __init__(self, settings: Settings, *, delivery_timeout_ms: int = DEFAULT_DELIVERY_TIMEOUT_MS,
                 extra: Mapping[str, Any] | None = None) -> None:
        self.producer = Producer(producer_config(settings, delivery_timeout_ms=delivery_timeout_ms, extra=extra))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="kafka-delivery", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        """Run delivery callbacks as reports arrive (poll returns as soon as one is ready)."""
        while not self._stop.is_set():
            self.producer.poll(0.1)

    def publish(self, topic: str, key: str, envelope: dict[str, Any], on_delivery: DeliveryCallback) -> None:
        """Queue ``envelope`` for ``topic``; raises ``BufferError`` when the local queue is full."""
        self.producer.produce(topic, key=key.encode(), value=encode(envelope), on_delivery=on_delivery)

    def publish_and_wait(self, topic: str, key: str, envelope: dict[str, Any], timeout: float = 10.0) -> Message:
        """Publish and block until acknowledged; raises :class:`PublishError` otherwise."""
        done = threading.Event()
        outcome: dict[str, Any] = {}

        def delivered(err: KafkaError | None, msg: Message) -> None:
            outcome["err"], outcome["msg"] = err, msg
            done.set()

        self.publish(topic, key, envelope, delivered)
        if not done.wait(timeout):
            raise PublishError("timed out waiting for the broker's acknowledgement")
        if outcome["err"] is not None:
            raise PublishError(str(outcome["err"]))
        return outcome["msg"]

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (bounded by ``timeout``) and stop the poll thread."""
        self.producer.flush(timeout)
        self._stop.set()
        self._thread.join(timeout=1)


class PublishError(Exception):
    """The broker did not acknowledge a message."""
