"""Shadow mode: mirror a share of GETs to the other backend and compare the answers by meaning.

The client is answered by the primary backend as usual; the mirrored request and its
comparison run in a background task after the primary's body was sent, so the primary's
latency is untouched. Only fully buffered (small) primary answers are mirrored, and bodies
over ``SHADOW_COMPARE_MAX_BYTES`` are compared as bytes, which bounds the CPU one comparison
takes. The mirror uses the worker's forwarding client (:func:`proxy.forward.make_client`: no
redirects, no decompression), so it sends the same canonical path and headers the primary got.

A comparison (:mod:`strangler.shadow_diff`) is judged under the domain's ignore rules (the
``shadow_rules`` table, mirrored like the flags) and the noise learned from A/A pairs: with
``SHADOW_CALIBRATION_PERCENT`` a share of mirrored GETs also asks the monolith a second time,
and paths that differ between two monolith answers are treated as suggested rules. Outcomes
go to ``proxy_shadow_comparisons_total{domain,result,kind}``, to the rollout gates' per-second
counters and to per-minute path counters in Redis; sampled mismatches with both bodies go to
PostgreSQL (:mod:`strangler.shadow_contract`). Redis or PostgreSQL being down loses counts
and samples (logged), never a client answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import defaultdict

import psycopg
from psycopg.types.json import Jsonb
from pyreqwest.client import Client
from pyreqwest.exceptions import PyreqwestError

from kernel.settings import Settings
from proxy.flusher import RedisFlusher
from proxy.metrics import SHADOW, Recorder
from proxy.pgmirror import CONNECT_KWARGS, PgMirror, libpq_url
from strangler import shadow_contract as contract
from strangler.rollout_gates import shadow_field
from strangler.shadow_diff import (
    NO_KIND,
    Answer,
    Comparison,
    Rule,
    RulePathError,
    Rules,
    compare,
    noise_hits,
    suggest_rules,
)

log = logging.getLogger(__name__)
MAX_INFLIGHT = 64
#: Samples waiting for PostgreSQL; more are dropped (the counters still count them).
SAMPLE_QUEUE = 64


class ShadowRuleCache(PgMirror):
    """Every domain's ignore rules, kept in sync with ``shadow_rules`` (``NOTIFY shadow_rules``)."""

    name = "shadow-rule"
    channel = contract.RULES_CHANNEL
    query = contract.SELECT_RULES

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings.database_url, settings.proxy_flag_refresh_ms)
        self.rules: dict[str, list[Rule]] = {}
        self.version = 0

    def swap(self, rows: list[tuple]) -> None:
        """Group the rows by domain; a row that does not parse is skipped (the console validates on write)."""
        rules: dict[str, list[Rule]] = defaultdict(list)
        for domain, path, mode in rows:
            rule = Rule(path, mode)
            try:
                rule.steps()
            except RulePathError:
                log.warning("shadow rule %r of %s does not parse; skipped", path, domain)
                continue
            rules[domain].append(rule)
        if rules != self.rules:
            self.rules = dict(rules)
            self.version += 1


class ShadowCounters(RedisFlusher):
    """Per-minute path counters and A/A noise: dict increments in memory, one Redis pipeline a second.

    After each flush the merged noise of every domain seen is read back, so all workers judge
    by what any of them learned.
    """

    name = "shadow counters"

    def __init__(self, redis_url: str, interval: float = 1.0) -> None:
        super().__init__(redis_url, interval)
        self._counts: defaultdict[str, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._paths: dict[str, set[str]] = {}  # key → distinct path fields this minute
        self._noise: defaultdict[str, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.noise_rules: dict[str, list[Rule]] = {}
        self.noise_version = 0
        self._domains: set[str] = set()

    def comparison(self, domain: str, result: str, outcome: Comparison | None, now: float) -> None:
        """Count one comparison (``outcome`` is ``None`` for an error)."""
        self._domains.add(domain)
        key = contract.counts_key(domain, int(now) // 60)
        fields = self._counts[key]
        fields[contract.result_field(result)] += 1
        if outcome is None or not outcome.differences:
            return
        fields[contract.kind_field(outcome.kind)] += 1
        seen = self._paths.setdefault(key, set())
        for path, kind in {(d.normalized, d.kind) for d in outcome.differences}:
            name = contract.path_field(kind, path)
            if name not in seen and len(seen) >= contract.MAX_PATH_FIELDS:
                name = contract.path_field(kind, contract.OTHER_PATH)
            seen.add(name)
            fields[name] += 1

    def noise(self, domain: str, outcome: Comparison) -> None:
        """Count one A/A pair."""
        self._domains.add(domain)
        fields = self._noise[domain]
        fields["pairs"] += 1
        for path, kind in noise_hits(outcome):
            fields[contract.noise_field(kind, path)] += 1

    async def flush(self) -> None:
        """Write the pending counts in one pipeline, then re-read every seen domain's noise."""
        counts, self._counts = self._counts, defaultdict(lambda: defaultdict(int))
        noise, self._noise = self._noise, defaultdict(lambda: defaultdict(int))
        minute = int(time.time()) // 60
        self._paths = {k: v for k, v in self._paths.items() if k.rsplit(":", 1)[-1] == str(minute)}
        domains = sorted(self._domains)
        pipe = self.redis.pipeline(transaction=False)
        for key, fields in counts.items():
            for name, count in fields.items():
                pipe.hincrby(key, name, count)
            pipe.expire(key, contract.COUNTS_TTL)
        for domain, fields in noise.items():
            for name, count in fields.items():
                pipe.hincrby(contract.noise_key(domain), name, count)
            pipe.expire(contract.noise_key(domain), contract.NOISE_TTL)
        for domain in domains:
            pipe.hgetall(contract.noise_key(domain))
        replies = await pipe.execute()
        for domain, fields in zip(domains, replies[len(replies) - len(domains):], strict=True):
            _pairs, hits = contract.parse_noise(fields)
            rules = suggest_rules(hits)
            if rules != self.noise_rules.get(domain, []):
                self.noise_rules[domain] = rules
                self.noise_version += 1

class SampleWriter:
    """Writes sampled mismatches to ``shadow_samples`` from a bounded queue, pruning each domain to its cap."""

    def __init__(self, settings: Settings) -> None:
        self.url = libpq_url(settings.database_url)
        self.cap = max(1, settings.shadow_samples_per_domain)
        self.per_minute = settings.shadow_samples_per_minute
        self.body_bytes = settings.shadow_sample_body_bytes
        self.queue: asyncio.Queue[dict] = asyncio.Queue(SAMPLE_QUEUE)
        self._taken: dict[tuple[str, int], int] = {}
        self._conn: psycopg.AsyncConnection | None = None
        self._task: asyncio.Task | None = None
        self._warned = 0.0

    def offer(self, domain: str, target: str, primary: str, monolith: Answer, service: Answer,
              outcome: Comparison, now: float) -> bool:
        """Queue a sample unless this minute's share for ``domain`` is used up or the queue is full."""
        minute = int(now) // 60
        taken = self._taken.get((domain, minute), 0)
        if taken >= self.per_minute or self.queue.full():
            return False
        if len(self._taken) > 64:
            self._taken = {k: v for k, v in self._taken.items() if k[1] == minute}
        self._taken[(domain, minute)] = taken + 1
        limit = self.body_bytes
        self.queue.put_nowait({
            "domain": domain, "target": target[:2000], "primary": primary, "kind": outcome.kind,
            "differences": Jsonb([d.as_dict() for d in outcome.differences]),
            "monolith_status": monolith.status, "service_status": service.status,
            "monolith_body": monolith.body[:limit].decode("utf-8", "replace"),
            "service_body": service.body[:limit].decode("utf-8", "replace"),
            "truncated": len(monolith.body) > limit or len(service.body) > limit or outcome.dropped > 0,
        })
        return True

    def start(self) -> None:
        """Start writing."""
        self._task = asyncio.create_task(self._run(), name="shadow-samples")

    async def stop(self) -> None:
        """Stop writing (queued samples are dropped) and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()

    async def write(self, sample: dict) -> None:
        """Insert one sample and prune its domain to the cap, in one transaction."""
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(self.url, **{**CONNECT_KWARGS, "autocommit": False})
        async with self._conn.transaction():
            await self._conn.execute(contract.INSERT_SAMPLE, sample)
            await self._conn.execute(contract.PRUNE_SAMPLES, {"domain": sample["domain"], "cap": self.cap})

    async def _run(self) -> None:
        while True:
            sample = await self.queue.get()
            try:
                await self.write(sample)
            except (psycopg.Error, OSError) as exc:  # PostgreSQL down: this sample is lost, counts are not
                if self._conn is not None:
                    with contextlib.suppress(Exception):
                        await self._conn.close()
                self._conn = None
                if time.monotonic() - self._warned > 30:
                    self._warned = time.monotonic()
                    log.warning("shadow sample not stored: %s", exc)


class Shadower:
    """Runs mirrored GETs and their comparisons in the background, bounded by :data:`MAX_INFLIGHT`."""

    def __init__(self, client: Client, settings: Settings, monolith_url: str, recorder: Recorder | None = None,
                 rules: ShadowRuleCache | None = None, counters: ShadowCounters | None = None,
                 samples: SampleWriter | None = None) -> None:
        self.client = client
        self.monolith_url = monolith_url
        self.recorder = recorder
        self.rules = rules
        self.counters = counters
        self.samples = samples
        self.max_bytes = settings.shadow_compare_max_bytes
        self.headers = tuple(h.strip().lower() for h in settings.shadow_compare_headers.split(",") if h.strip())
        self.calibration_percent = settings.shadow_calibration_percent
        self._compiled: dict[str, tuple[tuple[int, int], Rules]] = {}
        self._tasks: set[asyncio.Task] = set()

    @classmethod
    def for_gateway(cls, client: Client, settings: Settings, monolith_url: str,
                    recorder: Recorder | None) -> Shadower:
        """The worker's shadower with its rule mirror, Redis counters and sample writer (call :meth:`start`)."""
        return cls(client, settings, monolith_url, recorder, ShadowRuleCache(settings),
                   ShadowCounters(settings.redis_url), SampleWriter(settings))

    async def start(self) -> None:
        """Load the rules and start the background writers."""
        if self.rules is not None:
            await self.rules.start()
        if self.counters is not None:
            self.counters.start()
        if self.samples is not None:
            self.samples.start()

    def mirror(self, domain: str, url: str, headers: list[tuple[str, str]], status: int, body: bytes,
               primary: str = "monolith", primary_headers: list[tuple[str, str]] | None = None,
               target: str = "") -> None:
        """Fire a background GET to ``url`` (the other backend) and compare it with ``(status, body)``.

        ``primary`` names the backend that answered the client (``monolith`` | ``service``);
        ``target`` is the path and query, for samples.
        """
        if len(self._tasks) >= MAX_INFLIGHT:
            return
        kept = {n: v for n, v in (primary_headers or ()) if n in self.headers} if self.headers else {}
        task = asyncio.create_task(self._compare(domain, url, headers, Answer(status, body, kept), primary,
                                                 target))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        """Forget a finished comparison; a bug in one is logged, never lost silently."""
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("shadow comparison failed", exc_info=task.exception())

    async def _get(self, url: str, headers: list[tuple[str, str]]) -> Answer:
        response = await self.client.request("GET", url).headers(headers).build().send()
        body = bytes(await response.bytes())
        kept = {n: v for n in self.headers if (v := response.headers.get(n)) is not None}
        return Answer(response.status, body, kept)

    async def _compare(self, domain: str, url: str, headers: list[tuple[str, str]], first: Answer, primary: str,
                       target: str) -> None:
        try:
            other = await self._get(url, headers)
        except (PyreqwestError, ValueError) as exc:  # ValueError: a header value pyreqwest cannot hold
            log.debug("shadow request to %s failed: %s", url, exc)
            self._count(domain, "error", None)
            return
        monolith, service = (first, other) if primary == "monolith" else (other, first)
        if self.calibration_percent and random.randrange(100) < self.calibration_percent:  # noqa: S311 - sampling
            await self._calibrate(domain, target, headers, monolith)
        outcome = compare(monolith, service, self._rules(domain), max_bytes=self.max_bytes, headers=self.headers)
        self._count(domain, outcome.result, outcome)
        if outcome.differences and self.samples is not None:
            self.samples.offer(domain, target, primary, monolith, service, outcome, time.time())

    async def _calibrate(self, domain: str, target: str, headers: list[tuple[str, str]], monolith: Answer) -> None:
        """A/A: ask the monolith again and learn what differs between its own two answers."""
        try:
            again = await self._get(self.monolith_url + target, headers)
        except (PyreqwestError, ValueError) as exc:
            log.debug("A/A request to the monolith failed: %s", exc)
            return
        pair = compare(monolith, again, max_bytes=self.max_bytes)
        if self.counters is not None:
            self.counters.noise(domain, pair)

    def _rules(self, domain: str) -> Rules:
        """The domain's configured rules plus the noise rules, compiled once per change of either."""
        configured = self.rules.rules.get(domain, ()) if self.rules is not None else ()
        noise = self.counters.noise_rules.get(domain, ()) if self.counters is not None else ()
        version = (self.rules.version if self.rules is not None else 0,
                   self.counters.noise_version if self.counters is not None else 0)
        cached = self._compiled.get(domain)
        if cached is None or cached[0] != version:
            cached = self._compiled[domain] = (version, Rules([*configured, *noise]))
        return cached[1]

    def _count(self, domain: str, result: str, outcome: Comparison | None) -> None:
        SHADOW.labels(domain, result, outcome.kind if outcome is not None else NO_KIND).inc()
        now = time.time()
        if self.recorder is not None:
            self.recorder.count(int(now), shadow_field(domain, result))
        if self.counters is not None:
            self.counters.comparison(domain, result, outcome, now)

    async def stop(self) -> None:
        """Cancel mirrored requests still running, flush counters, close connections."""
        for task in list(self._tasks):
            task.cancel()
        if self.rules is not None:
            await self.rules.stop()
        if self.counters is not None:
            await self.counters.stop()
        if self.samples is not None:
            await self.samples.stop()
