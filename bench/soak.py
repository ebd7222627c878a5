"""Soak benchmark: the gateway and everything behind it under steady traffic for N minutes.

A private stack on throw-away state — its own database ``<database>_bench_soak`` (reset at
start), a private Redis database, a private Kafka broker (``tests/worker/kafka_private.py``),
a temporary ``RUN_DIR`` with fresh keys — runs: the gateway (``python -m proxy``), the
monolith, the movies and users services, the relay worker and beat (which also runs the
rollout plans). An open-loop generator sends ``--rate`` requests/s through the gateway:
paged movie reads, single movies, genres, ``/api/users/me``, ratings and new movies (writes
carry tokens; creates an ``Idempotency-Key``). Meanwhile:

* the movies flag changes every ``--flag-every`` seconds (gradual, a new percentage each time);
* a rollout plan runs on the users domain; when it finishes (completed or rolled back) the
  flag goes back to the monolith and a new plan starts;
* every minute: the RSS of every process (with its children), the outbox backlog (pending
  rows, oldest pending age) and the load average are sampled.

Reported: per ``--slice`` minutes the requests, failures, p50 and p99; per minute the RSS
table; RSS growth of each process from the end of the warm-up (the first slice) to the end
(target ≤ 5 %); the largest outbox backlog; the plans started/completed/rolled back; the
failures by status. A failure is any answer but 200/201 or a transport error.

Run: ``.venv/bin/python bench/soak.py [--minutes 30] [--rate 40] [--slice 5]`` (``--minutes 3``
for a quick run; slices then default to one minute).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.backlog import bench_database, exit_on_sigterm, load_average, rss_mb

MINUTES = 30
RATE = 40
REDIS_DB = 11  # this bench's gateway counters, idempotency keys and Celery queue
MOVIES = 2_000
USERS = 20
FLAG_EVERY_S = 10.0
MAX_IN_FLIGHT = 64
RSS_GROWTH_LIMIT = 0.05


@dataclass
class Sample:
    """One request: when it started (s since the run began), how long it took, how it ended."""

    at: float
    ms: float
    status: int
    kind: str


@dataclass
class Run:
    """Everything the run collected."""

    samples: list[Sample] = field(default_factory=list)
    rss: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    outbox: list[tuple[float, int, float]] = field(default_factory=list)
    loads: list[tuple[float, str]] = field(default_factory=list)
    flag_changes: int = 0
    plans: Counter = field(default_factory=Counter)
    rollbacks: Counter = field(default_factory=Counter)  # why plans rolled back
    skipped: int = 0  # requests not sent because MAX_IN_FLIGHT were still open (the rate was too high)


def _reset(url: str) -> None:
    """Empty the soak database's data and fill the catalogue."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE movies, movie_genres, user_ratings, users, outbox, outbox_sequences, "
                          "flag_audit, rollout_plans, migration_flags, processed_events RESTART IDENTITY CASCADE"))
        conn.execute(text(
            "INSERT INTO movies (title, description, rating) SELECT 'Soak movie ' || n, 'soak', (n % 100) / 10.0 "
            "FROM generate_series(1, :n) AS n"), {"n": MOVIES})
        conn.execute(text(
            "INSERT INTO movie_genres (movie_id, genre) SELECT id, (ARRAY['Drama','Crime','Comedy','Action'])"
            "[1 + id % 4] FROM movies"))
    engine.dispose()


class Stack:
    """The soak's processes, started on free ports with one shared environment."""

    def __init__(self, url: str, redis_url: str, brokers: str, workdir: Path) -> None:
        from kernel.tokens import generate_keys
        from tests.support.processes import free_port

        private_pem, public_pem = generate_keys()
        (workdir / "jwt.pem").write_text(private_pem)
        (workdir / "jwt.pub").write_text(public_pem)
        self.private_pem = private_pem
        self.ports = {name: free_port() for name in ("gateway", "monolith", "movies", "users")}
        self.env = {
            "RUN_DIR": str(workdir), "DATABASE_URL": url, "REDIS_URL": redis_url, "KAFKA_BROKERS": brokers,
            "JWT_PRIVATE_KEY_PATH": str(workdir / "jwt.pem"), "JWT_PUBLIC_KEY_PATH": str(workdir / "jwt.pub"),
            "IDENTITY_SECRET": secrets.token_hex(32), "SECRET_KEY": secrets.token_hex(32),
            "PAYMENT_WEBHOOK_SECRET": secrets.token_hex(32), "LOG_LEVEL": "WARNING", "WEB_WORKERS": "1",
            "MONOLITH_URL": f"http://127.0.0.1:{self.ports['monolith']}",
            "MOVIES_SERVICE_URL": f"http://127.0.0.1:{self.ports['movies']}",
            "USERS_SERVICE_URL": f"http://127.0.0.1:{self.ports['users']}",
        }
        self.procs: dict = {}

    def start(self) -> None:
        """Backends first, then the gateway, then the relay worker and beat."""
        from tests.support.processes import start_process

        for name, module, health in (("monolith", "domain_services.monolith", "/health"),
                                     ("movies", "domain_services.movies", "/api/movies/health"),
                                     ("users", "domain_services.users", "/api/users/health"),
                                     ("gateway", "proxy", "/health")):
            self.procs[name] = start_process(f"bench-soak-{name}", module, env=self.env, port=self.ports[name],
                                             health_path=health, timeout=60)
        for name, module in (("worker", "worker"), ("beat", "worker.beat")):
            self.procs[name] = start_process(f"bench-soak-{name}", module, env=self.env, health_path=None)

    def stop(self) -> None:
        """Stop every process (reverse order)."""
        for proc in reversed(list(self.procs.values())):
            proc.stop()

    def exited(self) -> list[str]:
        """Processes that died during the run."""
        return [name for name, proc in self.procs.items() if proc.popen.poll() is not None]

    def token(self, user_id: int, role: str, seconds: int) -> str:
        """An access token signed with this stack's key."""
        from kernel.tokens import issue_token

        return issue_token(user_id, self.private_pem, seconds, role=role)


def _create_users(count: int) -> list[int]:
    """Users created through the users domain (sign-up through the gateway is rate-limited per address)."""
    from domain_services.users import services as users

    return [users.create_user({"username": f"soak{i}{uuid.uuid4().hex[:6]}",
                               "email": f"soak{i}{uuid.uuid4().hex[:6]}@example.com"})["id"] for i in range(count)]


class Load:
    """The open-loop generator: one request every ``1/rate`` s, whatever the answers take."""

    def __init__(self, base: str, rate: float, users: list[int], user_tokens: dict[int, str],
                 editor_tokens: dict[int, str], run: Run) -> None:
        self.base, self.rate, self.users, self.tokens, self.editors, self.run = base, rate, users, user_tokens, \
            editor_tokens, run
        self.random = random.Random(7)  # a reproducible mix; not a secret

    def _request(self) -> tuple[str, str, str, dict | None, dict[str, str]]:
        """``(kind, method, path, json, headers)`` of the next request."""
        r = self.random.random()
        user = self.random.choice(self.users)
        auth = {"Authorization": f"Bearer {self.tokens[user]}"}
        movie = self.random.randint(1, MOVIES)
        if r < 0.40:
            return "list", "GET", f"/api/movies?limit=20&offset={self.random.randint(0, MOVIES - 20)}", None, {}
        if r < 0.55:
            return "get", "GET", f"/api/movies?id={movie}", None, auth
        if r < 0.62:
            return "genres", "GET", "/api/movies/genres", None, {}
        if r < 0.80:
            return "me", "GET", "/api/users/me", None, auth
        if r < 0.95:
            return "rate", "POST", f"/api/movies/{movie}/ratings", {"rating": self.random.randint(1, 10)}, auth
        return "create", "POST", "/api/movies", {"title": f"Soak new {uuid.uuid4().hex[:8]}", "description": "s",
                                                  "rating": 5, "genres": ["Drama"]}, \
            {"Authorization": f"Bearer {self.editors[user]}", "Idempotency-Key": uuid.uuid4().hex}

    async def _one(self, client, started0: float, sem: asyncio.Semaphore) -> None:
        kind, method, path, body, headers = self._request()
        at = time.perf_counter()
        try:
            response = await client.request(method, path, json=body, headers=headers)
            status = response.status_code
        except Exception:  # a transport error is a failed request, counted as status 0
            status = 0
        finally:
            sem.release()
        self.run.samples.append(Sample(at - started0, (time.perf_counter() - at) * 1000, status, kind))

    async def run_for(self, seconds: float, started0: float) -> None:
        """Send requests at ``rate`` for ``seconds``."""
        import httpx

        sem = asyncio.Semaphore(MAX_IN_FLIGHT)
        limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
        async with httpx.AsyncClient(base_url=self.base, timeout=30, limits=limits) as client:
            interval = 1.0 / self.rate
            next_at = time.perf_counter()
            deadline = next_at + seconds
            tasks = set()
            while next_at < deadline:
                delay = next_at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_at += interval
                if sem.locked():
                    self.run.skipped += 1
                    continue
                await sem.acquire()
                task = asyncio.create_task(self._one(client, started0, sem))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.gather(*tasks)


def _flags_and_plans(url: str, settings, run: Run, stop: threading.Event, every: float) -> None:
    """Change the movies flag every ``every`` s; keep a users rollout plan running."""
    from strangler import flags, rollouts

    rng = random.Random(11)  # not a secret
    while not stop.wait(every):
        try:
            flags.set_flag("movies", {"mode": "gradual", "percent": rng.randint(0, 100)}, "soak",
                           "soak: flag change", url=url, settings=settings)
            run.flag_changes += 1
            plan = rollouts.get_plan("users", url=url)
            if plan is None or plan["state"] in ("completed", "rolled_back", "aborted"):
                if plan is not None:
                    run.plans[plan["state"]] += 1
                    if plan["state"] == "rolled_back":
                        run.rollbacks[str(plan.get("last_decision"))[:100]] += 1
                    flags.set_flag("users", {"mode": "monolith", "percent": 0}, "soak", "soak: next plan",
                                   url=url, settings=settings)
                rollouts.start("users", "soak", steps=[10, 50, 100], hold_seconds=30,
                               gates={"min_requests": 20}, reason="soak", url=url, settings=settings)
                run.plans["started"] += 1
        except Exception as exc:  # keep the soak going; the count shows in the report
            run.plans[f"error: {type(exc).__name__}: {exc}"[:120]] += 1


def _monitor(stack: Stack, url: str, run: Run, stop: threading.Event, started0: float, every: float) -> None:
    """Each ``every`` s: RSS of every process tree, outbox backlog, load average."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, pool_size=1)
    stopping = False
    try:
        while True:
            now = time.perf_counter() - started0
            run.rss.append((now, {name: rss_mb(proc.popen.pid) for name, proc in stack.procs.items()}))
            with engine.connect() as conn:
                pending, oldest = conn.execute(text(
                    "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM outbox "
                    "WHERE published_at IS NULL")).one()
            run.outbox.append((now, int(pending), float(oldest)))
            run.loads.append((now, load_average()))
            if stopping:
                return
            stopping = stop.wait(every)  # one more sample once the load stopped: the end state
    finally:
        engine.dispose()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def report(run: Run, minutes: float, slice_min: float, rate: float) -> bool:
    """Print the figures; True when every target holds."""
    ok = True
    print(f"\nsoak: {minutes:g} min at {rate:g} req/s through the gateway ({len(run.samples):,} requests, "
          f"{run.skipped} not sent for {MAX_IN_FLIGHT} still open)")
    print(f"{'slice':>12} {'requests':>9} {'failed':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  load")
    slices = max(1, round(minutes / slice_min))
    for i in range(slices):
        lo, hi = i * slice_min * 60, (i + 1) * slice_min * 60
        part = [s for s in run.samples if lo <= s.at < hi]
        ms = [s.ms for s in part]
        failed = sum(s.status not in (200, 201) for s in part)
        load = next((lv for t, lv in run.loads if t >= hi - 61), run.loads[-1][1] if run.loads else "")
        print(f"{lo / 60:5.0f}-{hi / 60:<5.0f}m {len(part):9,} {failed:7} {_pct(ms, 0.5):8.1f} {_pct(ms, 0.99):8.1f} "
              f"{max(ms, default=0):8.1f}  {load}")
    failures = Counter((s.kind, s.status) for s in run.samples if s.status not in (200, 201))
    if failures:
        ok = False
        print(f"failures: {dict(failures)}")
    print("\nRSS per minute (MB, each process with its children):")
    names = list(run.rss[0][1]) if run.rss else []
    print(f"{'min':>5} " + " ".join(f"{n:>9}" for n in names) + f" {'pending':>8} {'oldest s':>8}")
    for (t, rss), (_t, pending, oldest) in zip(run.rss, run.outbox, strict=False):
        print(f"{t / 60:5.1f} " + " ".join(f"{rss[n]:9.0f}" for n in names) + f" {pending:8} {oldest:8.1f}")
    warm = next((i for i, (t, _r) in enumerate(run.rss) if t >= slice_min * 60 - 1), 0)
    if run.rss and warm < len(run.rss) - 1:
        print(f"RSS growth from the end of warm-up ({run.rss[warm][0] / 60:.1f} min) to the end:")
        for name in names:
            base, end = run.rss[warm][1][name], run.rss[-1][1][name]
            peak = max(r[name] for _t, r in run.rss[warm:])
            growth = (end - base) / base if base else 0.0
            verdict = "ok" if growth <= RSS_GROWTH_LIMIT else "OVER"
            ok &= growth <= RSS_GROWTH_LIMIT
            print(f"  {name:9s} {base:7.0f} → {end:7.0f} MB ({growth:+.1%}, peak {peak:.0f})  {verdict}")
    if run.outbox:
        worst = max(run.outbox, key=lambda o: o[1])
        print(f"outbox backlog: largest {worst[1]} pending (oldest {max(o[2] for o in run.outbox):.1f} s); "
              f"at the end {run.outbox[-1][1]}")
    print(f"flag changes: {run.flag_changes}; rollout plans: {dict(run.plans)}")
    if run.rollbacks:
        print(f"rollback reasons: {dict(run.rollbacks)}")
    return ok


def main() -> None:
    """Build the private stack, run the load, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=MINUTES)
    parser.add_argument("--rate", type=float, default=RATE, help="requests per second (open loop)")
    parser.add_argument("--slice", type=float, default=None, help="minutes per latency slice (default 5, or 1 "
                        "when the run is shorter than 15 minutes)")
    parser.add_argument("--flag-every", type=float, default=FLAG_EVERY_S)
    parser.add_argument("--sample-every", type=float, default=60.0, help="seconds between RSS samples")
    args = parser.parse_args()
    slice_min = args.slice or (5.0 if args.minutes >= 15 else 1.0)
    exit_on_sigterm()

    from kernel.db import bind
    from kernel.settings import load_settings
    from tests.worker.conftest import private_redis_url
    from tests.worker.kafka_private import PrivateKafka

    base_settings = load_settings()
    url = bench_database(base_settings.database_url, "bench_soak", fresh=True)
    _reset(url)
    redis_url = private_redis_url(base_settings.redis_url, REDIS_DB)
    import redis

    redis.Redis.from_url(redis_url).flushdb()  # the previous run's counters and idempotency keys
    workdir = Path(tempfile.mkdtemp(prefix="soak-"))
    kafka = PrivateKafka()
    stack = None
    try:
        kafka.start()
        stack = Stack(url, redis_url, kafka.bootstrap, workdir)
        stack.start()
        settings = load_settings({**os.environ, **stack.env})  # what the stack's processes see
        bind(url)
        gateway = f"http://127.0.0.1:{stack.ports['gateway']}"
        users = _create_users(USERS)
        seconds = int(args.minutes * 60) + 600
        tokens = {u: stack.token(u, "user", seconds) for u in users}
        # creates come from every user as an editor: the gateway holds 1,000 Idempotency-Keys per
        # caller a day, which one editor creating two movies a second would exhaust in minutes
        editors = {u: stack.token(u, "editor", seconds) for u in users}
        run = Run()
        print(f"soak stack up (load {load_average()}); {args.minutes:g} min at {args.rate:g} req/s", flush=True)
        stop = threading.Event()
        started0 = time.perf_counter()
        threads = [threading.Thread(target=_flags_and_plans, args=(url, settings, run, stop, args.flag_every),
                                    daemon=True),
                   threading.Thread(target=_monitor, args=(stack, url, run, stop, started0, args.sample_every),
                                    daemon=True)]
        for thread in threads:
            thread.start()
        asyncio.run(Load(gateway, args.rate, users, tokens, editors, run).run_for(args.minutes * 60, started0))
        stop.set()
        for thread in threads:
            thread.join(30)
        dead = stack.exited()
        ok = report(run, args.minutes, slice_min, args.rate)
        if dead:
            print(f"processes that exited during the run: {dead}")
        print("verdict:", "OK" if ok and not dead else "NOT OK")
    finally:
        if stack is not None:
            stack.stop()
        kafka.destroy()


if __name__ == "__main__":
    main()
