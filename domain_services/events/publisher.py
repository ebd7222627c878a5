"""Bridge the kernel's Kafka publisher into asyncio: ``await publish(...)`` → (partition, offset).

Delivery reports arrive on the publisher's poll thread; each resolves its request's future
through ``call_soon_threadsafe``, so the event loop never blocks on Kafka.
"""

from __future__ import annotations

import asyncio
from typing import Any

from confluent_kafka import KafkaError, Message

from domain_services.shared.kafka import Publisher, PublishError
from domain_services.shared.settings import Settings

# librdkafka fails an unacknowledged message after this long; the asyncio guard below
# is only a backstop should a report never arrive.
DELIVERY_TIMEOUT_MS = 5000
GUARD_S = DELIVERY_TIMEOUT_MS / 1000 + 1


class AsyncPublisher:
    """One idempotent producer for the process, awaited per request."""

    def __init__(self, settings: Settings) -> None:
        self._publisher = Publisher(settings, delivery_timeout_ms=DELIVERY_TIMEOUT_MS)

    async def publish(self, topic: str, key: str, envelope: dict[str, Any]) -> tuple[int, int]:
        """Publish and wait for the broker's acknowledgement; raises :class:`PublishError`."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[int, int]] = loop.create_future()

        def settle(err: KafkaError | None, msg: Message) -> None:
            if future.done():  # the guard already answered the client
                return
            if err is None:
                future.set_result((msg.partition(), msg.offset()))
            else:
                future.set_exception(PublishError(err.str()))

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            loop.call_soon_threadsafe(settle, err, msg)

        try:
            self._publisher.publish(topic, key, envelope, on_delivery)
        except BufferError:
            raise PublishError("local producer queue is full") from None
        try:
            return await asyncio.wait_for(asyncio.shield(future), GUARD_S)
        except TimeoutError:
            raise PublishError("timed out waiting for the broker's acknowledgement") from None

    def close(self) -> None:
        """Deliver what is in flight (bounded) and stop the poll thread."""
        self._publisher.close()
