"""``python -m domain_services.payments.consumer``: the ``payments-reactions`` consumer process.

Payments owns its reaction to its own events (a completed plan payment extends the user's
subscription, :mod:`domain_services.payments.reactions`), so it ships and scales with the
payments domain, not with the events service. The loop — commits after handling, retries,
dead letters on ``payment-events.dlq`` — is the kernel's :mod:`domain_services.shared.consumer`.
"""

from __future__ import annotations

import signal
import threading

from domain_services.payments import reactions
from domain_services.shared import db
from domain_services.shared.app_factory import configure_logging
from domain_services.shared.consumer import Delivery, run_consumer
from domain_services.shared.event_types import PAYMENT_TOPIC
from domain_services.shared.settings import get_settings


def react_to_payments(batch: list[Delivery]) -> None:
    """Handle each envelope of ``batch``; each plan payment extends a subscription exactly once."""
    for delivery in batch:
        reactions.handle_payment_event(delivery.envelope)


def main() -> None:
    """Consume ``payment-events`` as ``payments-reactions`` until SIGTERM/SIGINT."""
    settings = get_settings()
    configure_logging(settings)
    db.bind(settings.database_url)  # the reaction's unit of work
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # every message on payment-events must be an envelope: anything else is dead-lettered at once
    run_consumer(reactions.CONSUMER, (PAYMENT_TOPIC,), react_to_payments, stop, settings, require_envelope=True)


if __name__ == "__main__":
    main()
