"""``python -m worker``: the Celery worker that runs the outbox relay.

One process, ``solo`` pool: the relay is I/O bound and batches of 500 already saturate one
producer; a single consumer of the queue also keeps each key's events in commit order. A
background thread logs the outbox backlog every ``STATS_INTERVAL_S`` for operators.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import SQLAlchemyError

from eventing.outbox_stats import outbox_stats
from kernel.settings import get_settings
from worker.app import configure

STATS_INTERVAL_S = 10.0
log = logging.getLogger("worker.stats")


def _log_stats_forever(stop: threading.Event) -> None:
    """Log pending count and oldest pending age; a database hiccup only skips one line."""
    while not stop.wait(STATS_INTERVAL_S):
        try:
            stats = outbox_stats()
        except SQLAlchemyError as exc:
            log.warning("outbox stats unavailable: %s", exc.__class__.__name__)
            continue
        log.info("outbox pending=%d oldest_pending_age_s=%s published_last_minute=%d", stats["pending"],
                 "-" if stats["oldest_pending_age_seconds"] is None else f"{stats['oldest_pending_age_seconds']:.1f}",
                 stats["published_last_minute"])


def main() -> None:
    """Start the stats thread and the Celery worker (blocks until terminated)."""
    settings = get_settings()
    app = configure(settings)
    threading.Thread(target=_log_stats_forever, args=(threading.Event(),), name="outbox-stats", daemon=True).start()
    app.worker_main([
        "worker",
        "--pool=solo",
        f"--loglevel={settings.log_level.upper()}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--hostname=relay@%h",
    ])


if __name__ == "__main__":
    main()
