"""Composition root of the events service: the consumer process and the HTTP server.

The consumers run in a child process so their JSON decoding and database work never
compete with the API's event loop for the GIL (the API's p99 budget is 50 ms). This module,
like any entry point, may wire domain packages together; the domains themselves do not.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading

from aiohttp import web

from domain_services.events.api import create_app
from domain_services.events.consumers import GROUP, Delivery, log_events, run_all
from domain_services.payments import reactions
from domain_services.shared.app_factory import configure_logging
from domain_services.shared.event_types import PAYMENT_TOPIC, TOPICS
from domain_services.shared.settings import get_settings

log = logging.getLogger(__name__)
DEFAULT_PORT = 8082


def react_to_payments(batch: list[Delivery]) -> None:
    """The ``payments-reactions`` handler: each plan payment extends a subscription once."""
    for delivery in batch:
        if reactions.is_plan_payment(delivery.envelope):
            reactions.handle_payment_event(delivery.envelope)


def consumers_main() -> None:
    """Entry of the consumer process: both consumer groups until SIGTERM."""
    configure_logging(get_settings())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run_all(
        {
            GROUP: (TOPICS, log_events),
            reactions.CONSUMER: ((PAYMENT_TOPIC,), react_to_payments),
        },
        stop,
    )


def main() -> None:
    """Start the consumer process, then serve the API on ``PORT`` (default 8082) until terminated."""
    settings = get_settings()
    configure_logging(settings)
    # spawn, not fork: the child must not inherit the parent's threads or Kafka clients
    consumer = multiprocessing.get_context("spawn").Process(target=consumers_main, name="events-consumers",
                                                            daemon=True)
    consumer.start()
    try:
        web.run_app(create_app(settings), host=settings.host, port=settings.port_or(DEFAULT_PORT),
                    access_log=None, print=None, handle_signals=True)
    finally:
        consumer.terminate()
        consumer.join(10)
