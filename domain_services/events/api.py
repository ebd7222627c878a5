"""HTTP adapter of the events service (aiohttp): health, ``POST /api/events/{movie,user,payment}``
and ``GET /metrics`` (the event pipeline: dead letters, consumer lag; ``metrics.py``).

An async server fits the job: every request waits a few milliseconds for the broker's
acknowledgement, which costs a coroutine here instead of a thread. The handler validates,
builds the §5 envelope, awaits the delivery report and answers 201 with the real partition
and offset; an unreachable broker yields 503 once librdkafka's message timeout (5 s) expires.
"""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from domain_services.events.metrics import PipelineMetrics, metrics_handler
from domain_services.events.publisher import AsyncPublisher
from domain_services.events.schemas import PARSERS, SOURCE
from eventing.kafka import PublishError
from kernel import registry
from kernel.envelope import make_envelope
from kernel.errors import DomainError, InvalidInput
from kernel.settings import Settings
from kernel.validation import parse_json

log = logging.getLogger(__name__)

PUBLISHER = web.AppKey("publisher", AsyncPublisher)
#: An event body is a flat object (``genres`` is the one list); the largest valid one is a
#: few KB. These bounds refuse anything else before it costs parsing time (400 / 413).
MAX_EVENT_DEPTH = 4
MAX_EVENT_BYTES = 64 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(data, ensure_ascii=False).encode(), status=status,
                        content_type="application/json")


def error(message: str, status: int) -> web.Response:
    """The contract's error shape ``{"error": message}``."""
    return _json({"error": message}, status)


async def health(_: web.Request) -> web.Response:
    """``GET /api/events/health`` → ``{"status": true}``."""
    return _json({"status": True})


async def publish_event(request: web.Request) -> web.Response:
    """Validate, publish, answer 201 once the broker acknowledged the message."""
    parse = PARSERS[request.match_info["kind"]]
    raw = await request.read()
    if not raw:
        raise InvalidInput("request body must be a JSON object")
    event = parse(parse_json(raw, max_depth=MAX_EVENT_DEPTH))
    envelope = make_envelope(event.type, event.action, event.payload, SOURCE)
    try:
        partition, offset = await request.app[PUBLISHER].publish(event.topic, event.key, envelope)
    except PublishError as exc:
        log.warning("event %s not published: %s", envelope["id"], exc)
        return error(f"event broker unavailable: {exc}", 503)
    return _json(
        {
            "status": "success",
            "partition": partition,
            "offset": offset,
            "event": {k: envelope[k] for k in ("id", "type", "timestamp", "payload")},
        },
        201,
    )


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One error mapping: domain errors and HTTP errors become ``{"error": ...}``."""
    try:
        return await handler(request)
    except DomainError as exc:
        return error(exc.message, exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        messages = {404: "not found", 405: "method not allowed", 413: "request body too large"}
        return error(messages.get(exc.status, exc.reason), exc.status)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error("internal error", 500)


def create_app(settings: Settings, publisher: AsyncPublisher | None = None) -> web.Application:
    """The events API for ``settings`` (from the composition root, ``runner.main``); the producer
    is created on start-up (inside the serving process)."""
    app = web.Application(middlewares=[json_errors], client_max_size=min(settings.max_body_bytes, MAX_EVENT_BYTES))
    metrics = PipelineMetrics(settings)

    async def open_publisher(app: web.Application) -> None:
        app[PUBLISHER] = publisher or AsyncPublisher(settings)
        # Each request allocates many short-lived objects: freeze what start-up built and collect
        # the young generation less often, which trims GC pauses from the latency tail.
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 50, 100)

    async def close_publisher(app: web.Application) -> None:
        app[PUBLISHER].close()
        metrics.close()

    app.on_startup.append(open_publisher)
    app.on_cleanup.append(close_publisher)
    app.router.add_get(registry.domain("events").health_path, health)
    app.router.add_get("/metrics", metrics_handler(metrics))
    app.router.add_post("/api/events/{kind:movie|user|payment}", publish_event)
    return app
