"""The events service's consumer: ``events-service`` logs one structured line per event.

The loop itself (batches, commits, retries, dead letters) is the kernel's
:mod:`eventing.consumer`; this module only says what "handled" means here:
claim the batch's event ids (``processed_events``) and log each event once, marking
re-deliveries as duplicates. A value that is not an envelope is logged as ``valid: false``.
"""

from __future__ import annotations

import json
import logging
import sys

from sqlalchemy import text

from eventing.consumer import Delivery
from kernel.db import get_engine

GROUP = "events-service"


_CLAIM = text(
    "INSERT INTO processed_events (consumer, event_id) SELECT :consumer, unnest(CAST(:ids AS text[])) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)


def event_logger() -> logging.Logger:
    """The logger of the per-event lines: bare JSON on stdout, one object per line."""
    logger = logging.getLogger("events.stream")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def claim_events(consumer: str, event_ids: list[str], url: str | None = None) -> set[str]:
    """Record ``event_ids`` as processed by ``consumer``; returns those not seen before."""
    if not event_ids:
        return set()
    with get_engine(url).begin() as conn:
        return set(conn.scalars(_CLAIM, {"consumer": consumer, "ids": list(dict.fromkeys(event_ids))}))


def log_events(batch: list[Delivery]) -> None:
    """The ``events-service`` handler: claim the batch's ids in one transaction, log each event."""
    ids = [str(d.envelope["id"]) for d in batch if d.envelope and d.envelope.get("id")]
    fresh = claim_events(GROUP, ids)
    out = event_logger()
    for d in batch:
        env = d.envelope or {}
        event_id = str(env.get("id", ""))
        duplicate = event_id not in fresh
        fresh.discard(event_id)  # a second copy within the same batch is a duplicate too
        out.info(json.dumps({
            "event": "consumed",
            "consumer": GROUP,
            "topic": d.message.topic(),
            "type": env.get("type"),
            "action": env.get("action"),
            "id": event_id or None,
            "sequence": env.get("sequence"),
            "partition": d.message.partition(),
            "offset": d.message.offset(),
            "duplicate": duplicate and bool(event_id),
            "valid": bool(event_id),
        }, separators=(",", ":")))
