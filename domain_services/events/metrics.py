"""``GET /metrics`` of the events service: the event pipeline in Prometheus text format.

- ``cinemaabyss_dead_letters_total{group,topic}`` — messages a consumer group gave up on and
  moved to ``<topic>.dlq`` (counted from the dead-letter topics, so every consumer process
  and every restart is covered);
- ``cinemaabyss_consumer_lag_messages{group,topic,partition}`` and its per-group sum;
- ``cinemaabyss_consumer_oldest_unprocessed_age_seconds{group}`` — 0 when caught up;
- ``cinemaabyss_pipeline_up`` — 0 when the broker did not answer (the other series are then
  missing rather than stale);
- ``cinemaabyss_outbox_pending_events`` and ``cinemaabyss_outbox_oldest_pending_age_seconds``
  (0 when nothing waits) — the relay's backlog, read from PostgreSQL (missing while it is down).

The broker queries run in a worker thread, at most once per ``CACHE_S`` however often the
endpoint is scraped, so the API's event loop never waits on them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from confluent_kafka import KafkaException
from sqlalchemy.exc import SQLAlchemyError

from eventing.consumer_lag import GroupLag, LagReader, LagUnavailable
from eventing.dead_letters import DeadLetterCounter
from eventing.outbox_stats import outbox_stats
from kernel.settings import Settings

log = logging.getLogger(__name__)

CACHE_S = 1.0
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _labels(**labels: object) -> str:
    escaped = (f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
               for k, v in labels.items())
    return "{" + ",".join(escaped) + "}"


def render(lags: list[GroupLag] | None, dead_letters: dict[tuple[str, str], int] | None,
           outbox: dict | None = None) -> str:
    """The exposition text; ``None`` inputs (broker unreachable) render ``cinemaabyss_pipeline_up 0``."""
    lines = ["# HELP cinemaabyss_pipeline_up Whether the broker answered the metrics queries.",
             "# TYPE cinemaabyss_pipeline_up gauge",
             f"cinemaabyss_pipeline_up {0 if lags is None or dead_letters is None else 1}"]
    if dead_letters is not None:
        lines += ["# HELP cinemaabyss_dead_letters_total Messages a consumer group moved to a dead-letter topic.",
                  "# TYPE cinemaabyss_dead_letters_total counter"]
        lines += [f"cinemaabyss_dead_letters_total{_labels(group=g, topic=t)} {n}"
                  for (g, t), n in sorted(dead_letters.items())]
    if lags is not None:
        lines += ["# HELP cinemaabyss_consumer_lag_messages Messages not yet processed, per partition.",
                  "# TYPE cinemaabyss_consumer_lag_messages gauge"]
        lines += [f"cinemaabyss_consumer_lag_messages{_labels(group=g.group, topic=p.topic, partition=p.partition)} "
                  f"{p.lag}" for g in lags for p in sorted(g.partitions, key=lambda p: (p.topic, p.partition))]
        lines += ["# HELP cinemaabyss_consumer_group_lag_messages Messages not yet processed by the group.",
                  "# TYPE cinemaabyss_consumer_group_lag_messages gauge"]
        lines += [f"cinemaabyss_consumer_group_lag_messages{_labels(group=g.group)} {g.lag}" for g in lags]
        lines += ["# HELP cinemaabyss_consumer_oldest_unprocessed_age_seconds Age of the oldest message the "
                  "group has not processed (0 when caught up).",
                  "# TYPE cinemaabyss_consumer_oldest_unprocessed_age_seconds gauge"]
        lines += [f"cinemaabyss_consumer_oldest_unprocessed_age_seconds{_labels(group=g.group)} "
                  f"{g.oldest_age_s or 0:.3f}" for g in lags]
    if outbox is not None:
        lines += ["# HELP cinemaabyss_outbox_pending_events Outbox rows the relay has not published yet.",
                  "# TYPE cinemaabyss_outbox_pending_events gauge",
                  f"cinemaabyss_outbox_pending_events {outbox['pending']}",
                  "# HELP cinemaabyss_outbox_oldest_pending_age_seconds Age of the oldest unpublished outbox row.",
                  "# TYPE cinemaabyss_outbox_oldest_pending_age_seconds gauge",
                  f"cinemaabyss_outbox_oldest_pending_age_seconds {outbox['oldest_pending_age_seconds'] or 0:.3f}"]
    return "\n".join(lines) + "\n"


class PipelineMetrics:
    """The broker-side figures behind ``/metrics``, created on the first scrape, cached ``CACHE_S``."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._text = ""
        self._at = 0.0
        self._lag: LagReader | None = None
        self._dead: DeadLetterCounter | None = None

    def text(self) -> str:
        """The current exposition text (blocking; call from a worker thread)."""
        with self._lock:
            if time.monotonic() - self._at >= CACHE_S:
                self._text, self._at = render(*self._collect(), self._outbox()), time.monotonic()
            return self._text

    def _collect(self) -> tuple[list[GroupLag] | None, dict[tuple[str, str], int] | None]:
        lags: list[GroupLag] | None = None
        dead: dict[tuple[str, str], int] | None = None
        try:
            self._lag = self._lag or LagReader(self._settings)
            self._dead = self._dead or DeadLetterCounter(self._settings)
            lags, dead = self._lag.read(), self._dead.counts()
        except (LagUnavailable, KafkaException) as exc:
            log.warning("pipeline metrics unavailable: %s", exc)
        return lags, dead

    def _outbox(self) -> dict | None:
        try:
            return outbox_stats(self._settings.database_url)
        except SQLAlchemyError as exc:
            log.warning("outbox metrics unavailable: %s", exc)
            return None

    def close(self) -> None:
        """Close the Kafka clients."""
        for client in (self._lag, self._dead):
            if client is not None:
                client.close()


def metrics_handler(metrics: PipelineMetrics) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler serving ``metrics`` (broker queries off the event loop)."""

    async def handle(_: web.Request) -> web.Response:
        text = await asyncio.get_running_loop().run_in_executor(None, metrics.text)
        return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE})

    return handle
