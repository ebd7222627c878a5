"""Celery tasks that tell people: the notifier's scan and each webhook delivery (with backoff).

The beat runs :func:`notify_scan` every few seconds: audit rows past the cursor become pending
deliveries (:func:`strangler.webhooks.scan`), and about every ``DEAD_LETTER_EVERY_S`` the
dead-letter topics are counted for new arrivals. Each delivery is its own task; a failed send
is retried by Celery after an exponentially growing pause until ``NOTIFY_MAX_ATTEMPTS``.
"""

from __future__ import annotations

import logging
import time

import httpx
from confluent_kafka import KafkaException

from eventing.dead_letters import DeadLetterCounter
from strangler import webhooks
from worker.app import NOTIFY_DELIVER_TASK, NOTIFY_SCAN_TASK, app, settings

log = logging.getLogger(__name__)

DEAD_LETTER_EVERY_S = 30.0
_client: httpx.Client | None = None
_dead: DeadLetterCounter | None = None
_dead_checked = 0.0


def _http() -> httpx.Client:
    """One HTTP client per worker process (created on first use, after any fork)."""
    global _client
    if _client is None:
        _client = httpx.Client(timeout=settings().notify_timeout_s, follow_redirects=False)
    return _client


def _dead_letter_deliveries() -> list[int]:
    global _dead, _dead_checked
    if time.monotonic() - _dead_checked < DEAD_LETTER_EVERY_S:
        return []
    _dead_checked = time.monotonic()
    try:
        _dead = _dead or DeadLetterCounter(settings())
        return webhooks.note_dead_letters(_dead.counts())
    except KafkaException as exc:
        log.warning("dead letters not counted for notifications: %s", exc)
        return []


@app.task(name=NOTIFY_SCAN_TASK, ignore_result=True)
def notify_scan() -> int:
    """Queue a delivery task for every new notification; returns how many."""
    ids = webhooks.scan() + _dead_letter_deliveries()
    for delivery_id in ids:
        notify_deliver.delay(delivery_id)
    return len(ids)


@app.task(name=NOTIFY_DELIVER_TASK, bind=True, ignore_result=True, max_retries=None)
def notify_deliver(self, delivery_id: int) -> str:
    """Send one delivery; on failure schedule the next attempt after the backoff."""
    config = settings()
    result = webhooks.attempt(delivery_id, _http(), max_attempts=config.notify_max_attempts,
                              backoff_s=config.notify_backoff_s)
    if result.outcome == "retry":
        log.info("webhook delivery %s failed (%s); retry in %s s", delivery_id, result.error, result.delay_s)
        raise self.retry(countdown=result.delay_s)
    if result.outcome == "failed":
        log.warning("webhook delivery %s given up: %s", delivery_id, result.error)
    return result.outcome
