"""The gateway core: authenticate, pick a backend, forward, fall back, record.

Interface-neutral: the ASGI adapter (``app.py``) and the RSGI adapter (``rsgi.py``) turn
their server's request into an :class:`~proxy.types.Inbound` and implement
:class:`~proxy.types.Responder`. One :class:`Gateway` per worker process.
"""

from __future__ import annotations

import gc
import itertools
import json
import logging
import os
import random
import time
from collections.abc import AsyncIterator

from pyreqwest.client import Client
from pyreqwest.exceptions import RequestError

from kernel import signed_identity
from kernel.request_keys import KEY_HEADER
from kernel.settings import Settings
from kernel.tokens import TokenClaims
from proxy import clientaddr, failures, forward, health, idempotency, intake, metrics, policy, retry, target
from proxy.auth import Authenticator, AuthError
from proxy.exchange import Exchange
from proxy.flagcache import FlagCache
from proxy.revocations import RevocationCache
from proxy.rollback import AutoRollback
from proxy.routing import SERVICE_HEALTH, Flag, Upstreams, route_of
from proxy.shadow import Shadower
from proxy.types import Headers, Inbound, Responder
from strangler import rollout_gates

log = logging.getLogger(__name__)

JSON_HEADERS: Headers = [("content-type", "application/json")]


#: What ``OPTIONS *`` answers.
ALLOW = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"


def _set_body(request: Inbound, body: bytes) -> None:
    """Hand the buffered body on in one piece, with its length (also for a chunked upload)."""
    if not any(name == "content-length" for name, _ in request.headers):
        request.headers.append(("content-length", str(len(body))))
    request.body = _once(body) if body else None


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body


#: Per-worker random prefix + counter: unique request ids without a syscall per request
#: (ids correlate logs; they must be unique, not secret). Drawn again in :meth:`Gateway.startup`
#: because the server forks its workers after importing this module.
_ID_PREFIX = os.urandom(8).hex()
_id_counter = itertools.count()


def _request_id(value: str | None) -> str:
    """The client's ``X-Request-Id`` when sane, else a fresh unique one."""
    if value and len(value) <= 128 and value.isprintable():
        return value
    return f"{_ID_PREFIX}{next(_id_counter):016x}"


class Gateway:
    """Everything one worker needs: flag cache, client session, auth, metrics, rollback."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.upstreams = Upstreams.from_settings(settings)
        self.cache = FlagCache(settings)
        self.revoked = RevocationCache(settings)
        self.auth = Authenticator(settings, self.revoked)
        self.slots = intake.ClientSlots(settings.proxy_max_client_concurrency)
        self.callbacks = intake.ClientSlots(settings.proxy_callback_concurrency)
        self.head_limits = intake.HeadLimits.from_settings(settings)
        self.identity_secret = signed_identity.load_secret(settings)
        networks = clientaddr.parse_networks(settings.proxy_trusted_proxies)
        self.trusted = clientaddr.TrustedProxies(networks) if networks else None
        self.body_limits = intake.BodyLimits.from_settings(settings)
        #: upstream base URLs, lower-case: an answer's Location under one of them is made relative
        self.internal = tuple(url.lower() for url in (self.upstreams.monolith, *self.upstreams.services.values()))
        self.recorder = metrics.Recorder()
        self.rollbacks = AutoRollback(self.cache, settings.proxy_rollback_witnesses,
                                      settings.proxy_rollback_p99_percent)
        self.client: Client | None = None
        self.shadower: Shadower | None = None
        self.flusher: metrics.TrafficFlusher | None = None
        self.idempotency: idempotency.IdempotencyStore | None = None

    async def startup(self) -> None:
        """Open the client pool, load flags, start background tasks."""
        global _ID_PREFIX  # one prefix per forked worker
        _ID_PREFIX = os.urandom(8).hex()
        connect, read = self.settings.proxy_connect_timeout_ms / 1000, self.settings.proxy_read_timeout_ms / 1000
        self.client = forward.make_client(connect, read)
        self.shadower = Shadower.for_gateway(self.client, self.settings, self.upstreams.monolith, self.recorder)
        await self.shadower.start()
        self.idempotency = idempotency.IdempotencyStore(self.settings.redis_url,
                                                        self.settings.proxy_read_timeout_ms / 1000 + 30,
                                                        idempotency.Quota.from_settings(self.settings))
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
        if self.idempotency is not None:
            await self.idempotency.close()
        if self.client is not None:
            await self.client.close()

    async def handle(self, request: Inbound, out: Responder) -> None:
        """Answer one request: canonical target, per-address cap, identity and policy, body, route.

        Everything after this method sees ``request.path`` as the canonical path
        (:mod:`proxy.target`), and that exact path is what the upstream receives.
        """
        refused = self.head_limits.refusal(request.path, request.query, request.headers)
        if refused is not None:
            return await self._error(out, refused.status, refused.message, _request_id(None), "proxy")
        try:
            path = target.canonical_path(request.path)
        except target.BadTarget as exc:
            return await self._bad_target(request, out, exc.message)
        request.path = path
        if self.trusted is not None:
            request.client = self.trusted.client(request.client, request.header("x-forwarded-for"))
        if not path.startswith("/api/"):
            if path == "/health":
                return await self._health(request, out)
            if path == "/metrics":
                return await self._metrics(request, out)
        request_id = _request_id(request.header("x-request-id"))
        rule = policy.rule_for(request.method, path)
        # provider callbacks share a budget of their own: no client's load can crowd them out
        slots, holder = (self.callbacks, "callbacks") if rule.callback else (self.slots, request.client)
        if not slots.acquire(holder):
            return await self._error(out, 429, "too many concurrent requests from this address" if slots is self.slots
                                     else "too many concurrent provider callbacks", request_id,
                                     "proxy", extra=[("retry-after", "1")])
        try:
            await self._admit(request, out, path, request_id, rule)
        finally:
            slots.release(holder)

    def _operator(self, request: Inbound) -> int:
        """:data:`policy.ALLOWED` for a verified admin or service token, else 401 or 403."""
        try:
            claims = self.auth.claims(request.header("authorization"))
        except AuthError:
            return policy.UNAUTHENTICATED
        if claims is None:
            return policy.UNAUTHENTICATED
        return policy.ALLOWED if claims.role in policy.OPERATORS else policy.FORBIDDEN

    async def _health(self, request: Inbound, out: Responder) -> None:
        """The public answer says the gateway is up; operators also get the details."""
        details = request.header("authorization") is not None and self._operator(request) == policy.ALLOWED
        body, ctype = health.health_body(self.cache, self.upstreams, self.auth.mode, request.header("accept"),
                                         self.revoked, details=details)
        await out.full(200, [("content-type", ctype), ("cache-control", "no-store")], body)

    async def _metrics(self, request: Inbound, out: Responder) -> None:
        """Prometheus text for operators (admin or service token) only."""
        verdict = self._operator(request)
        if verdict == policy.UNAUTHENTICATED:
            return await self._refuse(out, "metrics need an admin or service token", _request_id(None))
        if verdict == policy.FORBIDDEN:
            return await self._error(out, 403, "metrics need an admin or service token", _request_id(None), "proxy")
        body, ctype = metrics.render()
        await out.full(200, [("content-type", ctype), ("cache-control", "no-store")], body)

    async def _admit(self, request: Inbound, out: Responder, path: str, request_id: str, rule: policy.Rule) -> None:
        """Authenticate and authorise by the policy table, take the whole body, then route."""
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
        if request.body is not None:
            try:
                body = await intake.read_body(request.body, request.headers, self.body_limits)
            except intake.IntakeError as exc:
                await self._error(out, exc.status, exc.message, request_id, "proxy")
                if exc.status == 413:
                    await intake.linger(request.body)
                return
            _set_body(request, body)
        await self._route(request, target.PublicLocations(out, self.internal), route_of(path), claims, request_id)

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

    async def _route(self, request: Inbound, out: Responder, route: str, claims: TokenClaims | None,
                     request_id: str) -> None:
        """Pick the backend by flag, key the write, apply a client's ``Idempotency-Key``, forward.

        The upstream gets the verified identity (``X-User-Id``/``X-User-Role``) of ``claims`` and
        never a client-sent one (:func:`proxy.forward.upstream_headers`).
        """
        user_id, role = (str(claims.user_id), claims.role) if claims is not None else (None, None)
        request.caller = user_id or f"anon:{request.client}"
        flag: Flag | None = self.cache.table.flags.get(route)
        if request.path in SERVICE_HEALTH:
            to_service, flag = True, None  # a service's own health path is always the service's
        elif flag is not None:
            to_service = flag.wants_service(user_id, request.header("x-user-id"), request.client)
        else:
            to_service = route == "events"
        pin = request.header(policy.PIN_HEADER)
        if pin is not None and route != "monolith":
            honoured = policy.may_pin(role, pin)
            if honoured:
                to_service, flag = pin == "service", None  # as asked: no fallback, no shadow, no rollback
            metrics.PINNED.labels(route, pin if pin in policy.PIN_TARGETS else "other",
                                  "honoured" if honoured else "ignored").inc()
        suffix = f"{request.path}?{request.query}" if request.query else request.path
        signature = signed_identity.sign(self.identity_secret, user_id, role, request_id, int(time.time())) \
            if user_id is not None else None
        ex = Exchange(request, out, route, flag, to_service, suffix,
                      forward.upstream_headers(request, request_id, user_id, role, signature), request_id)
        keyed = idempotency.applies(request.method, request.path)
        raw_key = request.header(idempotency.KEY_HEADER) if keyed else None
        if keyed and self.settings.proxy_exactly_once:
            try:
                key = idempotency.upstream_key(request.caller, raw_key) if raw_key is not None \
                    else idempotency.fresh_key()
            except idempotency.KeyError400 as exc:
                return await self._error(out, 400, str(exc), request_id, "proxy")
            ex.headers = [h for h in ex.headers if h[0] != idempotency.KEY_HEADER]
            ex.headers.append((KEY_HEADER, key))
            ex.keyed = True
        if raw_key is not None and request.method == "POST" and self.idempotency is not None:
            return await self._idempotent(ex, raw_key)
        if ex.keyed and request.body is not None:  # in memory already (intake): kept whole for a replay
            ex.body = await forward.ReplayableBody.read_all(request.body, limit=self.body_limits.max_bytes)
        else:
            ex.body = forward.ReplayableBody(request.body) if request.body is not None else None
        await self._forward(ex)

    async def _idempotent(self, ex: Exchange, raw_key: str) -> None:
        """A POST carrying ``Idempotency-Key``: replay a stored answer, or forward once and store it."""
        request, out, request_id, caller = ex.request, ex.out, ex.request_id, ex.request.caller
        try:
            key = idempotency.redis_key(caller, raw_key)
        except idempotency.KeyError400 as exc:
            return await self._error(out, 400, str(exc), request_id, "proxy")
        body = await forward.ReplayableBody.read_all(request.body)
        if body is None:
            return await self._error(out, 413, f"requests with an Idempotency-Key are limited to "
                                               f"{forward.SMALL_BODY} bytes", request_id, "proxy")
        fp = idempotency.fingerprint(request.method, ex.suffix, body.data or b"")
        claim = await self.idempotency.claim(key, fp, caller)
        if claim.replay is not None:
            stored = claim.replay
            return await out.full(stored.status, [*stored.headers, idempotency.REPLAYED_HEADER,
                                                  ("x-request-id", request_id)], stored.body)
        if claim.mismatch:
            return await self._error(out, 422, "Idempotency-Key reused for a different request", request_id, "proxy")
        if claim.digest is not None:
            return await out.full(409, [*JSON_HEADERS, idempotency.REPLAYED_HEADER, ("x-request-id", request_id),
                                        ("x-upstream", "proxy")], json.dumps(claim.digest.error()).encode())
        if claim.over_quota:
            return await self._error(out, 429, f"too many Idempotency-Keys held by this caller (at most "
                                               f"{self.idempotency.quota.max_keys} a day)", request_id, "proxy",
                                     extra=[("retry-after", "3600")])
        if claim.busy:
            return await self._error(out, 409, "a request with this Idempotency-Key is still in progress",
                                     request_id, "proxy")
        ex.body, ex.keep = body, True
        answer = await self._forward(ex)
        if not claim.claimed:
            return  # Redis unavailable: forwarded without the gateway's store (the services still hold the key)
        if answer is not None and answer.status < 500:
            await self.idempotency.complete(key, fp, answer, caller)
        else:
            await self.idempotency.release(key, caller)

    async def _forward(self, ex: Exchange) -> idempotency.Stored | None:
        """Send to the chosen backend; replay on the monolith when :mod:`proxy.retry` allows it.

        With ``ex.keep`` (``Idempotency-Key``), returns the answer when it was small enough to
        keep; otherwise ``None``.
        """
        method, body = ex.request.method, ex.body
        backend = "service" if ex.to_service else "monolith"
        suspect: retry.Failure | None = None  # the service's failure, judged by the monolith's answer
        while True:
            started = time.perf_counter()
            try:
                response = await forward.send(self.client, method, ex.base(self.upstreams, backend) + ex.suffix,
                                              ex.headers, body.payload() if body is not None else None)
                if suspect is not None:
                    self._judged(ex, failures.judge(suspect, response.status))
                    suspect = None
                if response.status >= 500 and backend == "service" and \
                        self._may_replay(ex, retry.Failure.ANSWERED_5XX):
                    await response.release()
                    raise forward.UpstreamError(502, f"service answered {response.status}",
                                                retry.Failure.ANSWERED_5XX)
                return await self._respond(ex, response, backend, started)
            except forward.UnsendableHeader as exc:
                return await self._error(ex.out, 400, f"a request header cannot be forwarded: {exc}", ex.request_id,
                                         "proxy")
            except forward.UpstreamError as exc:
                if backend == "service" and self._may_replay(ex, exc.failure):
                    self._book(ex, backend, None, started)
                    metrics.FALLBACKS.labels(ex.route).inc()
                    backend = "monolith"
                    suspect = exc.failure
                    continue
                if backend == "service":
                    self._judged(ex, failures.judge(exc.failure, None))
                elif suspect is not None:
                    self._judged(ex, failures.judge(suspect, exc.status))
                self._book(ex, backend, exc.status, started, failed=True)
                await self._error(ex.out, exc.status, exc.message, ex.request_id, ex.target(backend))
                return None

    @staticmethod
    def _may_replay(ex: Exchange, failure: retry.Failure) -> bool:
        body = ex.body
        return retry.may_replay(ex.request.method, failure, fallback=ex.fallback,
                                body_replayable=body is None or body.replayable, keyed=ex.keyed)

    def _judged(self, ex: Exchange, outcome: failures.Outcome) -> None:
        """Tell the rollback detectors what a service attempt says about the service."""
        if ex.flag is not None:
            self.rollbacks.record(ex.route, outcome, int(time.time()), ex.flag, ex.request.caller)

    def _book(self, ex: Exchange, backend: str, status: int | None, started: float, failed: bool = False) -> None:
        """Book one attempt, the one place that does: metrics, chart, rollback detectors, gate counters.

        ``status`` ``None``: the attempt failed and the request goes on to the monolith (its
        verdict waits for the monolith's answer, :meth:`_judged`). ``failed``: the gateway
        answers ``status`` itself because no backend could. Otherwise ``status`` is the
        backend's answer, relayed as it is (a service 5xx here was not compared with the monolith).
        """
        now = int(time.time())
        route, seconds = ex.route, time.perf_counter() - started
        if status is None or failed:
            self.recorder.upstream_error(route, backend)
            self.recorder.traffic(route, backend, False, now)
            if failed:
                self.recorder.request(route, backend, status, seconds, now)
            return
        self.recorder.request(route, backend, status, seconds, now)
        flag = ex.flag
        if status >= 500:
            self.recorder.upstream_error(route, backend)
        else:
            self.recorder.count(now, rollout_gates.latency_field(route, backend, seconds))
            if flag is not None:
                self.rollbacks.latency(route, backend, seconds, now, flag, ex.request.caller)
        if backend == "service" and flag is not None:  # pinned requests and health probes judge nothing
            self.rollbacks.record(route, failures.answered(status), now, flag, ex.request.caller)

    async def _respond(self, ex: Exchange, response: forward.Upstream, backend: str,
                       started: float) -> idempotency.Stored | None:
        """Relay the upstream's answer; small bodies in one write, large ones streamed.

        A body that breaks before the client got a byte raises :class:`forward.UpstreamError`
        (``BODY_BROKEN``) so the caller may replay; after that the broken stream is re-raised
        and the server drops the client connection (a truncated body must not look complete).
        The attempt is booked only when its outcome is known.
        """
        request, out, status, target = ex.request, ex.out, response.status, ex.target(backend)
        try:
            out_headers = response.headers()
            out_headers.append(("x-upstream", target))
            body = await forward.read_small(response, request.method)
            first = b"" if body is not None else await forward.first_chunk(response)
            self._book(ex, backend, status, started)
            if body is not None:
                answer = idempotency.Stored(status, out_headers.copy(), body) if ex.keep else None
                out_headers.append(("x-request-id", ex.request_id))
                await out.full(status, out_headers, body)
                flag = ex.flag
                if flag is not None and flag.shadow_percent and request.method == "GET" \
                        and random.randrange(100) < flag.shadow_percent:  # noqa: S311 - sampling
                    self._shadow(ex.route, backend, ex.suffix, ex.headers, status, body, out_headers)
                return answer
            out_headers.append(("x-request-id", ex.request_id))
            await out.start(status, out_headers)
            if first:
                await out.chunk(first)
            try:
                async for chunk in forward.rest(response):
                    await out.chunk(chunk)
            except RequestError as exc:
                log.warning("%s response from %s broke mid-body: %s", ex.route, target, type(exc).__name__)
                raise
            await out.finish()
            return None
        finally:
            await response.release()

    def _shadow(self, route: str, backend: str, suffix: str, headers: list[tuple[str, str]], status: int,
                body: bytes, out_headers: list[tuple[str, str]]) -> None:
        other = self.upstreams.monolith if backend == "service" else self.upstreams.services[route]
        if self.shadower is not None:
            self.shadower.mirror(route, other + suffix, headers, status, body, backend, out_headers, suffix)
