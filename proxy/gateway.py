"""The gateway core: authenticate, pick a backend, forward, fall back, record.

Interface-neutral: the ASGI adapter (``app.py``) and the RSGI adapter (``rsgi.py``) turn
their server's request into an :class:`~proxy.types.Inbound` and implement
:class:`~proxy.types.Responder`. One :class:`Gateway` per worker process.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import random
import time
from collections.abc import AsyncIterator

import aiohttp

from domain_services.shared.settings import Settings
from proxy import forward, health, intake, metrics, policy, target
from proxy.auth import Authenticator, AuthError
from proxy.flagcache import FlagCache
from proxy.revocations import RevocationCache
from proxy.rollback import AutoRollback
from proxy.routing import Flag, Upstreams, route_of
from proxy.shadow import Shadower
from proxy.types import Headers, Inbound, Responder

log = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD"})
JSON_HEADERS: Headers = [("content-type", "application/json")]


#: What ``OPTIONS *`` answers.
ALLOW = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"


def _set_role(request: Inbound, role: str | None) -> None:
    """Replace any client-sent ``X-User-Role`` by the verified one (none for anonymous callers).

    ``X-User-Id`` is set from the same token by :func:`proxy.forward.upstream_headers`.
    """
    headers = request.headers
    if any(name == "x-user-role" for name, _ in headers):
        headers = request.headers = [(name, value) for name, value in headers if name != "x-user-role"]
    if role is not None:
        headers.append(("x-user-role", role))


def _set_body(request: Inbound, body: bytes) -> None:
    """Hand the buffered body on in one piece, with its length (also for a chunked upload)."""
    if not any(name == "content-length" for name, _ in request.headers):
        request.headers.append(("content-length", str(len(body))))
    request.body = _once(body) if body else None


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body


def _request_id(value: str | None) -> str:
    """The client's ``X-Request-Id`` when sane, else a fresh random one."""
    if value and len(value) <= 128 and value.isprintable():
        return value
    return os.urandom(16).hex()


class Gateway:
    """Everything one worker needs: flag cache, client session, auth, metrics, rollback."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.upstreams = Upstreams.from_settings(settings)
        self.cache = FlagCache(settings)
        self.revoked = RevocationCache(settings)
        self.auth = Authenticator(settings, self.revoked)
        self.slots = intake.ClientSlots(settings.proxy_max_client_concurrency)
        self.body_limits = intake.BodyLimits.from_settings(settings)
        #: upstream base URLs, lower-case: an answer's Location under one of them is made relative
        self.internal = tuple(url.lower() for url in (self.upstreams.monolith, *self.upstreams.services.values()))
        self.recorder = metrics.Recorder()
        self.rollbacks = AutoRollback(self.cache)
        self.session: aiohttp.ClientSession | None = None
        self.shadower: Shadower | None = None
        self.flusher: metrics.TrafficFlusher | None = None

    async def startup(self) -> None:
        """Open the client pool, load flags, start background tasks."""
        self.session = forward.make_session(self.settings.proxy_connect_timeout_ms / 1000,
                                            self.settings.proxy_read_timeout_ms / 1000)
        self.shadower = Shadower(self.session)
        self.flusher = metrics.TrafficFlusher(self.recorder, self.settings.redis_url)
        self.flusher.start()
        await self.cache.start()
        await self.revoked.start()
        # Forwarding allocates many short-lived objects: freeze what start-up built and collect
        # the young generation less often, which trims GC pauses from the latency tail.
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 50, 100)

    async def shutdown(self) -> None:
        """Stop background work and close connections."""
        await self.rollbacks.stop()
        await self.cache.stop()
        await self.revoked.stop()
        if self.flusher is not None:
            await self.flusher.stop()
        if self.shadower is not None:
            await self.shadower.stop()
        if self.session is not None:
            await self.session.close()

    async def handle(self, request: Inbound, out: Responder) -> None:
        """Answer one request: canonical target, per-address cap, identity and policy, body, route.

        Everything after this method sees ``request.path`` as the canonical path
        (:mod:`proxy.target`), and that exact path is what the upstream receives.
        """
        try:
            path = target.canonical_path(request.path)
        except target.BadTarget as exc:
            return await self._bad_target(request, out, exc.message)
        request.path = path
        if not path.startswith("/api/"):
            if path == "/health":
                body, ctype = health.health_body(self.cache, self.upstreams, self.auth.mode,
                                                 request.header("accept"), self.revoked)
                return await out.full(200, [("content-type", ctype)], body)
            if path == "/metrics":
                body, ctype = metrics.render()
                return await out.full(200, [("content-type", ctype)], body)
        request_id = _request_id(request.header("x-request-id"))
        client = request.client
        if not self.slots.acquire(client):
            return await self._error(out, 429, "too many concurrent requests from this address", request_id,
                                     "proxy", extra=[("retry-after", "1")])
        try:
            await self._admit(request, out, path, request_id)
        finally:
            self.slots.release(client)

    async def _admit(self, request: Inbound, out: Responder, path: str, request_id: str) -> None:
        """Authenticate and authorise by the policy table, take the whole body, then route."""
        rule = policy.rule_for(request.method, path)
        claims = None
        if not rule.open_door:  # sign-in must work whatever stale token is attached
            try:
                claims = self.auth.claims(request.header("authorization"))
            except AuthError as exc:
                return await self._refuse(out, exc.message, request_id)
        role = claims.role if claims is not None else policy.ANONYMOUS
        verdict = policy.verdict(rule, role, self.auth.mode)
        if verdict == policy.UNAUTHENTICATED:
            return await self._refuse(out, "authentication required", request_id)
        if verdict == policy.FORBIDDEN:
            return await self._error(out, 403, f"role {role} may not {request.method} {path}", request_id, "proxy")
        _set_role(request, claims.role if claims is not None else None)
        if request.body is not None:
            try:
                body = await intake.read_body(request.body, request.headers, self.body_limits)
            except intake.IntakeError as exc:
                return await self._error(out, exc.status, exc.message, request_id, "proxy")
            _set_body(request, body)
        user_id = str(claims.user_id) if claims is not None else None
        await self._route(request, target.PublicLocations(out, self.internal), route_of(path), user_id, request_id)

    async def _bad_target(self, request: Inbound, out: Responder, message: str) -> None:
        """``OPTIONS *`` answers what the gateway allows; any other unusable target is a 400."""
        request_id = _request_id(request.header("x-request-id"))
        if request.path == "*" and request.method == "OPTIONS":
            return await out.full(204, [("allow", ALLOW), ("x-request-id", request_id)], b"")
        await self._error(out, 400, message, request_id, "proxy")

    async def _refuse(self, out: Responder, message: str, request_id: str) -> None:
        metrics.AUTH_FAILURES.inc()
        await self._error(out, 401, message, request_id, "proxy",
                          extra=[("www-authenticate", 'Bearer realm="cinemaabyss"')])

    async def _error(self, out: Responder, status: int, message: str, request_id: str, upstream: str,
                     extra: Headers | None = None) -> None:
        headers = [*JSON_HEADERS, ("x-request-id", request_id), ("x-upstream", upstream), *(extra or [])]
        await out.full(status, headers, json.dumps({"error": message}).encode())

    async def _route(self, request: Inbound, out: Responder, route: str, user_id: str | None,
                     request_id: str) -> None:
        flag: Flag | None = self.cache.table.flags.get(route)
        if flag is not None:
            to_service = flag.wants_service(user_id, request.header("x-user-id"), request.client)
        else:
            to_service = route == "events"
        target = route if to_service else "monolith"
        base = self.upstreams.services[route] if to_service else self.upstreams.monolith
        suffix = f"{request.path}?{request.query}" if request.query else request.path
        headers = forward.upstream_headers(request, request_id, user_id)
        backend = "service" if to_service else "monolith"
        can_fall_back = (to_service and flag is not None and flag.fallback
                         and request.method in IDEMPOTENT and request.body is None)
        started = time.perf_counter()
        try:
            response = await forward.send(self.session, request.method, base + suffix, headers, request.body)
            if can_fall_back and response.status >= 500:
                response.release()
                raise forward.UpstreamError(502, f"service answered {response.status}")
        except forward.UpstreamError as exc:
            self._failed(route, backend, flag)
            if not can_fall_back:
                self.recorder.request(route, backend, exc.status, time.perf_counter() - started, int(time.time()))
                return await self._error(out, exc.status, exc.message, request_id, target)
            metrics.FALLBACKS.labels(route).inc()
            target, backend, base = "monolith", "monolith", self.upstreams.monolith
            started = time.perf_counter()
            try:
                response = await forward.send(self.session, request.method, base + suffix, headers, None)
            except forward.UpstreamError as exc2:
                self._failed(route, backend, flag)
                self.recorder.request(route, backend, exc2.status, time.perf_counter() - started,
                                      int(time.time()))
                return await self._error(out, exc2.status, exc2.message, request_id, target)
        await self._respond(request, out, response, route, backend, target, flag, request_id, started,
                            suffix, headers)

    def _failed(self, route: str, backend: str, flag: Flag | None) -> None:
        """Book a failed attempt (error window, error counter, chart)."""
        now = int(time.time())
        self.recorder.upstream_error(route, backend)
        self.recorder.traffic(route, backend, False, now)
        self.rollbacks.record(route, backend, True, now, flag)

    async def _respond(self, request: Inbound, out: Responder, response: aiohttp.ClientResponse, route: str,
                       backend: str, target: str, flag: Flag | None, request_id: str, started: float,
                       suffix: str, headers: list[tuple[str, str]]) -> None:
        status = response.status
        error = status >= 500
        now = int(time.time())
        self.recorder.request(route, backend, status, time.perf_counter() - started, now)
        if error:
            self.recorder.upstream_error(route, backend)
        self.rollbacks.record(route, backend, error, now, flag)
        out_headers = forward.client_headers(response.raw_headers)
        out_headers.append(("x-upstream", target))
        out_headers.append(("x-request-id", request_id))
        try:
            body = await forward.read_small(response)
            if body is not None:
                await out.full(status, out_headers, body)
                if flag is not None and flag.shadow_percent and request.method == "GET" \
                        and random.randrange(100) < flag.shadow_percent:  # noqa: S311 - sampling
                    self._shadow(route, backend, suffix, headers, status, body)
                return
            await out.start(status, out_headers)
            async for chunk in response.content.iter_any():
                await out.chunk(chunk)
            await out.finish()
        except forward.UpstreamError as exc:
            await self._error(out, exc.status, exc.message, request_id, target)
        finally:
            response.release()

    def _shadow(self, route: str, backend: str, suffix: str, headers: list[tuple[str, str]], status: int,
                body: bytes) -> None:
        other = self.upstreams.monolith if backend == "service" else self.upstreams.services[route]
        if self.shadower is not None:
            self.shadower.mirror(route, other + suffix, headers, status, body)
