"""The Celery application: Redis broker, the relay task, the rollout runner, payment reconciliation, the beat schedule.

The app object is cheap and connects to nothing until a worker or beat starts, so importing
it has no side effects; the broker URL and the settings the tasks read are applied by :func:`configure` from the
entry points.
"""

from __future__ import annotations

import logging

from celery import Celery
from celery.signals import after_setup_logger

from kernel import db
from kernel.settings import Settings

RELAY_TASK = "worker.relay_outbox"
ROLLOUT_TASK = "worker.rollout_tick"
ROLLOUT_INTERVAL_S = 1.0
# 10-second rollups of the gateways' traffic counters (console history; strangler/traffic_history.py)
TRAFFIC_ROLLUP_TASK = "worker.traffic_rollup"
TRAFFIC_ROLLUP_INTERVAL_S = 10.0
NOTIFY_SCAN_TASK = "worker.notify_scan"
NOTIFY_DELIVER_TASK = "worker.notify_deliver"
NOTIFY_INTERVAL_S = 2.0
RECONCILE_TASK = "worker.reconcile_payments"
# Payments become candidates only after PAYMENT_RECONCILE_AFTER_SECONDS; a pass a minute keeps
# the delay after that small without asking the provider often.
RECONCILE_INTERVAL_S = 60.0
RECONCILE_EXPIRES_S = 30
SWEEP_INTERVAL_S = 1.0
# the keys and answers of exactly-once writes are kept a day (worker/housekeeping.py)
PURGE_KEYS_TASK = "worker.purge_request_keys"
PURGE_KEYS_INTERVAL_S = 600.0
# A sweep or nudge older than this is dropped instead of run: while a relay batch waits on a
# dead broker, the queued sweeps would otherwise pile up and run back to back afterwards.
TASK_EXPIRES_S = 5

app = Celery("worker", include=["worker.tasks", "worker.history", "worker.notifications",
                                      "worker.housekeeping"])


# The settings the entry point configured this process with; tasks read them through
# :func:`settings` (the composition roots are ``python -m worker`` and ``python -m worker.beat``).
_settings: Settings | None = None


def settings() -> Settings:
    """This worker process's settings, as passed to :func:`configure` (which must have run)."""
    if _settings is None:
        raise RuntimeError("worker.app.configure(settings) has not run in this process")
    return _settings


def configure(settings: Settings) -> Celery:
    """Point the app at ``settings.redis_url`` and install the schedule; returns the app."""
    global _settings
    _settings = settings
    db.bind(settings.database_url)  # the relay's engine (worker/tasks.py) uses this database
    app.conf.update(
        broker_url=settings.redis_url,
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        result_backend=None,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=True,
        timezone="UTC",
        beat_schedule={
            "outbox-sweep": {
                "task": RELAY_TASK,
                "schedule": SWEEP_INTERVAL_S,
                "options": {"expires": TASK_EXPIRES_S},
            },
            # rollout plans (strangler/rollouts.py): advance, wait or roll back
            "rollout-runner": {
                "task": ROLLOUT_TASK,
                "schedule": ROLLOUT_INTERVAL_S,
                "options": {"expires": TASK_EXPIRES_S},
            },
            # traffic history for the console's charts (worker/history.py)
            "traffic-rollup": {
                "task": TRAFFIC_ROLLUP_TASK,
                "schedule": TRAFFIC_ROLLUP_INTERVAL_S,
                "options": {"expires": TRAFFIC_ROLLUP_INTERVAL_S},
            },
            # webhooks: plan moves, auto-rollbacks and dead letters (worker/notifications.py)
            "notifier": {
                "task": NOTIFY_SCAN_TASK,
                "schedule": NOTIFY_INTERVAL_S,
                "options": {"expires": TASK_EXPIRES_S},
            },
            # exactly-once writes' keys older than a day (worker/housekeeping.py)
            "request-key-purge": {
                "task": PURGE_KEYS_TASK,
                "schedule": PURGE_KEYS_INTERVAL_S,
                "options": {"expires": PURGE_KEYS_INTERVAL_S},
            },
            # payments whose webhook never came: ask the provider, settle (payments/reconcile.py)
            "payment-reconciliation": {
                "task": RECONCILE_TASK,
                "schedule": RECONCILE_INTERVAL_S,
                "options": {"expires": RECONCILE_EXPIRES_S},
            },
        },
    )
    return app


@after_setup_logger.connect
def _quiet_per_task_lines(**_: object) -> None:
    """A sweep every second would log four INFO lines per second; keep warnings and our own lines."""
    for name in ("celery.app.trace", "celery.worker.strategy", "celery.beat"):
        logging.getLogger(name).setLevel(logging.WARNING)
