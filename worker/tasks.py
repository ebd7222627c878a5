"""Celery tasks. The relay keeps one Kafka producer per worker process, created on first use;
the reconciliation keeps one payment provider adapter the same way."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import redis
from confluent_kafka import KafkaError, Producer

from domain_services.payments import reconcile
from domain_services.payments.adapters import build_provider
from domain_services.payments.provider import PaymentProvider
from domain_services.payments.webhooks import load_or_create_secret
from eventing.kafka import producer_config
from kernel.db import get_engine
from strangler import rollouts
from worker.app import RECONCILE_TASK, RELAY_TASK, ROLLOUT_TASK, app, settings
from worker.relay import purge_published, relay_pending

log = logging.getLogger(__name__)

_producer: Producer | None = None
_producer_lock = threading.Lock()


def _fatal(err: KafkaError) -> None:
    """librdkafka error callback: a fatal error makes the producer unusable, so drop it."""
    global _producer
    if err.fatal():
        log.error("kafka producer fatal error, recreating it: %s", err)
        _producer = None


def producer() -> Producer:
    """This process's producer (idempotent, acks=all); created lazily, after any fork."""
    global _producer
    with _producer_lock:
        if _producer is None:
            _producer = Producer(producer_config(settings(), extra={"error_cb": _fatal}))
        return _producer


@app.task(name=RELAY_TASK, ignore_result=True)
def relay_outbox() -> int:
    """Relay pending outbox rows to Kafka; returns how many were published."""
    published = relay_pending(get_engine(), producer())
    if published:
        log.info("outbox relay: published %d events", published)
    purged = purge_published(get_engine(), settings().outbox_retention_hours * 3600)
    if purged:
        log.info("outbox relay: deleted %d rows published before the retention window", purged)
    return published


_redis: redis.Redis | None = None


@app.task(name=ROLLOUT_TASK, ignore_result=True)
def rollout_tick() -> dict[str, str]:
    """Judge every running rollout plan once (one runner at a time: advisory lock inside)."""
    global _redis  # one Redis client per worker process, created on first use
    config = settings()
    if _redis is None:
        _redis = redis.Redis.from_url(config.redis_url, socket_timeout=2)
    done = rollouts.tick(_redis, settings=config)
    if done:
        log.info("rollout runner: %s", done)
    return done


_provider: PaymentProvider | None = None


@app.task(name=RECONCILE_TASK, ignore_result=True)
def reconcile_payments() -> dict[str, int]:
    """Settle payments whose webhook never came by asking their provider (one runner: advisory lock inside)."""
    global _provider  # one adapter (and its connection pool) per worker process, created on first use
    config = settings()
    if _provider is None:
        _provider = build_provider(config, load_or_create_secret(config))
    done = reconcile.run(_provider, older_than=timedelta(seconds=config.payment_reconcile_after_seconds))
    if done:
        log.info("payment reconciliation: %s", done)
    return done
