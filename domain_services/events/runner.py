"""Composition root of the events service: the consumer process and the HTTP server.

The consumer runs in a child process so its JSON decoding and database work never compete
with the API's event loop for the GIL (the API's p99 budget is 50 ms). The events service
only logs events; reactions belong to the domain that owns them and run in that domain's
own consumer process (``python -m domain_services.payments.consumer``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading

import uvloop
from aiohttp import web

from domain_services.events.api import create_app
from domain_services.events.consumers import GROUP, log_events
from eventing.consumer import run_consumer
from kernel import db, registry
from kernel.app_factory import configure_logging
from kernel.event_types import TOPICS
from kernel.settings import get_settings

log = logging.getLogger(__name__)
DEFAULT_PORT = registry.domain("events").port
CONSUMER_NICENESS = 10


def consumers_main() -> None:
    """Entry of the consumer process: the ``events-service`` group until SIGTERM."""
    settings = get_settings()
    configure_logging(settings)
    db.bind(settings.database_url)  # consumer idempotency rows (processed_events)
    # Logging events may lag a little; the API's latency may not: yield the CPU to it first.
    os.nice(CONSUMER_NICENESS)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run_consumer(GROUP, TOPICS, log_events, stop, settings)


def main() -> None:
    """Start the consumer process, then serve the API on ``PORT`` (default: the registry's port) until terminated."""
    settings = get_settings()
    configure_logging(settings)
    # spawn, not fork: the child must not inherit the parent's threads or Kafka clients
    consumer = multiprocessing.get_context("spawn").Process(target=consumers_main, name="events-consumers",
                                                            daemon=True)
    consumer.start()
    try:
        web.run_app(create_app(settings), host=settings.host, port=settings.port_or(DEFAULT_PORT),
                    access_log=None, print=None, handle_signals=True, loop=uvloop.new_event_loop())
    finally:
        consumer.terminate()
        consumer.join(10)
