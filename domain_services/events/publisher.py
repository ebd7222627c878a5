"""Publish from asyncio: ``await publish(...)`` → (partition, offset) once the broker acknowledged.

Delivery reports are served *on the event loop*: while messages are in flight, the loop
calls ``producer.poll(0)`` every ``POLL_INTERVAL_S`` and the callbacks settle their futures
directly. An earlier design served them on a separate poll thread and woke the loop per
report with ``call_soon_threadsafe``; under load the two threads fought over the GIL (a
waiting thread can lose up to the 5 ms switch interval each time) and the per-report
wake-up was a syscall — the largest share of the API's p99 in the profile. Idle, nothing
polls; while reports keep arriving the loop polls every 0.5 ms, and a poll that found none
doubles the pause up to 2 ms, so a lone request does not pay twenty polls for its ~10 ms.
"""

from __future__ import annotations

import asyncio
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from eventing.kafka import PublishError, encode, producer_config
from kernel.settings import Settings

# librdkafka fails an unacknowledged message after this long; the guard timer below is only
# a backstop should a report never arrive.
DELIVERY_TIMEOUT_MS = 5000
GUARD_S = DELIVERY_TIMEOUT_MS / 1000 + 1
# How often in-flight delivery reports are collected: the most latency it adds to a request.
POLL_MIN_S = 0.0005
POLL_MAX_S = 0.002


class AsyncPublisher:
    """One idempotent producer for the process, awaited per request (use from one event loop)."""

    def __init__(self, settings: Settings) -> None:
        self._producer = Producer(producer_config(settings, delivery_timeout_ms=DELIVERY_TIMEOUT_MS))
        self._in_flight = 0
        self._polling: asyncio.TimerHandle | None = None
        self._interval = POLL_MIN_S

    async def publish(self, topic: str, key: str, envelope: dict[str, Any]) -> tuple[int, int]:
        """Publish and wait for the broker's acknowledgement; raises :class:`PublishError`."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[int, int]] = loop.create_future()

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            self._in_flight -= 1
            if future.done():  # the guard already answered the client
                return
            if err is None:
                future.set_result((msg.partition(), msg.offset()))
            else:
                future.set_exception(PublishError(err.str()))

        try:
            self._producer.produce(topic, key=key.encode(), value=encode(envelope), on_delivery=on_delivery)
        except BufferError:
            raise PublishError("local producer queue is full") from None
        self._in_flight += 1
        if self._polling is None:
            self._interval = POLL_MIN_S
            self._polling = loop.call_later(self._interval, self._poll, loop)
        guard = loop.call_later(GUARD_S, _expire, future)
        try:
            return await future
        finally:
            guard.cancel()

    def _poll(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve the delivery reports that arrived; keep polling while messages are in flight."""
        served = self._producer.poll(0)
        self._interval = POLL_MIN_S if served else min(POLL_MAX_S, self._interval * 2)
        self._polling = loop.call_later(self._interval, self._poll, loop) if self._in_flight > 0 else None

    def close(self) -> None:
        """Deliver what is in flight (bounded) and stop polling."""
        if self._polling is not None:
            self._polling.cancel()
            self._polling = None
        self._producer.flush(5)


def _expire(future: asyncio.Future[tuple[int, int]]) -> None:
    if not future.done():
        future.set_exception(PublishError("timed out waiting for the broker's acknowledgement"))
