"""``python -m domain_services.payments.consumer``: the ``payments-reactions`` consumer process.

Payments owns its reaction to its own events (a completed plan payment extends the user's
subscription, :mod:`domain_services.payments.reactions`), so it ships and scales with the
payments domain, not with the events service. The loop — commits after handling, retries,
dead letters on ``payment-events.dlq`` — is the kernel's :mod:`eventing.consumer`.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from domain_services.payments import reactions
from eventing.consumer import Delivery, run_consumer
from eventing.consumer_retry import PoisonMessage
from kernel import db
from kernel.app_factory import configure_logging
from kernel.event_types import PAYMENT_TOPIC
from kernel.settings import get_settings


def check_payment_event(envelope: dict[str, Any]) -> None:
    """Raise :class:`PoisonMessage` for a ``payment`` event whose ids are not positive integers.

    Every producer of payment events (the payments service, the events API) writes integer
    ``payment_id`` and ``user_id``; anything else (``"user_id": "abc"``) is a broken message
    that operators should see on ``payment-events.dlq``, not one to skip silently.
    """
    if envelope.get("type") != "payment":
        return
    payload = envelope.get("payload")
    if not isinstance(payload, dict):
        raise PoisonMessage("payment event without a payload object")
    for name in ("payment_id", "user_id"):
        value = payload.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise PoisonMessage(f"payload.{name} must be a positive integer, got {value!r}")


def react_to_payments(batch: list[Delivery]) -> None:
    """Handle each envelope of ``batch``; each plan payment extends a subscription exactly once."""
    for delivery in batch:
        check_payment_event(delivery.envelope)
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
