"""The cut-over drill: mixed load through the gateway, flag steps, a service SIGKILL, recovery.

What an operator runs before a real cut-over (``cinemaabyss drill DOMAIN``), and what the
live test runs against processes of its own. The drill

1. drives reads (sticky by ``X-User-Id``) and writes through the gateway at fixed rates. By
   default the writer is the client the gateway must protect on its own: one attempt per
   write, no ``Idempotency-Key``, no retry (the gateway keys the write itself,
   :mod:`kernel.exactly_once`). ``client_retries`` makes it the careful client of the
   runbook instead: its own key, retried with the same key after a failure;
2. moves the domain's flag through ``steps`` (gradual percents), ``step_seconds`` each;
3. at 100 %, as soon as a write is in flight, kills the service's whole process group with
   SIGKILL and waits for the
   ``flag.auto_rollback`` audit row;
4. restarts the service, puts the domain back on it and waits until reads are served by it;
5. counts failed reads and writes, duplicates (rows created twice for one key), flips (users
   sent back and forth before the kill), time to rollback and time to recover.

Only the movies domain has a workload so far (:data:`WORKLOADS`); another domain needs one
read and one write there.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import psycopg

from strangler import flag_contract, flags

Say = Callable[[str], None]


@dataclass(frozen=True)
class Workload:
    """One domain's drill traffic: a cheap read and a write whose rows can be counted by key."""

    read_path: str
    write_path: str
    body: Callable[[str], dict]
    count_sql: str  # parameter: the run's LIKE pattern; returns (key, rows created) pairs


WORKLOADS: dict[str, Workload] = {
    "movies": Workload(
        read_path="/api/movies?id=1",
        write_path="/api/movies",
        body=lambda key: {"title": f"drill-{key}", "description": "cut-over drill", "rating": 5.0,
                          "genres": ["Drama"]},
        count_sql="SELECT title, count(*) FROM movies WHERE title LIKE %s GROUP BY title",
    ),
}


@dataclass
class DrillTarget:
    """Where the drill runs and how it kills and restarts the service."""

    domain: str
    proxy_url: str
    database_url: str  # libpq URL (audit rows, created rows)
    kill: Callable[[], None]
    restart: Callable[[], None]
    token: str  # access token allowed to write the domain
    sqlalchemy_url: str | None = None  # for flag changes; default: the bound database


@dataclass
class DrillReport:
    """Everything the drill measured."""

    reads: int = 0
    failed_reads: int = 0
    writes: int = 0
    failed_writes: int = 0
    write_retries: int = 0
    client_retries: int = 0
    in_flight: int = 0
    in_flight_ok: int = 0
    duplicates: int = 0
    created: int = 0
    flips: int = 0
    rollback_s: float | None = None
    recover_s: float | None = None
    seconds: float = 0.0
    upstreams: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """The report as printed by the command."""
        fmt = lambda v: "-" if v is None else f"{v:.3f} s"  # noqa: E731
        per_s = lambda n: n / self.seconds if self.seconds else 0.0  # noqa: E731
        return [
            f"load:             {per_s(self.reads):.0f} reads/s + {per_s(self.writes):.1f} writes/s "
            f"for {self.seconds:.0f} s",
            f"reads:            {self.reads} sent, {self.failed_reads} failed",
            f"writes:           {self.writes} sent, {self.failed_writes} failed "
            + (f"({self.write_retries} client retries with the same Idempotency-Key)" if self.client_retries
               else "(one attempt each, no client Idempotency-Key: keyed by the gateway)"),
            f"at the kill:      {self.in_flight} writes in flight (sent before the SIGKILL, answered after), "
            f"{self.in_flight_ok} of them acknowledged",
            f"rows created:     {self.created} for {self.writes - self.failed_writes} acknowledged writes, "
            f"{self.duplicates} duplicates",
            f"flips:            {self.flips} users moved back and forth before the kill",
            f"time to rollback: {fmt(self.rollback_s)} (SIGKILL -> flag.auto_rollback audit row)",
            f"time to recover:  {fmt(self.recover_s)} (restart -> reads served by the service again)",
            f"served by:        {dict(sorted(self.upstreams.items()))}",
            *([f"failures:         {self.failures}"] if self.failures else []),
        ]


class _Load:
    """Reader and writer threads at fixed rates; results collected under one lock."""

    def __init__(self, target: DrillTarget, workload: Workload, run: str, read_rate: float, write_rate: float,
                 readers: int = 6, client_retries: int = 0, writers: int = 1) -> None:
        self.target, self.workload, self.run = target, workload, run
        self.read_rate, self.write_rate, self.readers = read_rate, write_rate, readers
        self.client_retries, self.writers = client_retries, max(1, writers)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.report = DrillReport()
        self.user_paths: dict[str, list[str]] = {}
        self.killed_at: float | None = None
        #: writes sent and not yet answered (the kill waits for one, so it lands mid-write)
        self.writing = 0
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for i in range(self.readers):
            self._threads.append(threading.Thread(target=self._reader, args=(i,), daemon=True))
        for i in range(self.writers):
            self._threads.append(threading.Thread(target=self._writer, args=(i,), daemon=True))
        for thread in self._threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(30)

    def _fail(self, kind: str) -> None:
        self.report.failures[kind] = self.report.failures.get(kind, 0) + 1

    def _pace(self, interval: float, nxt: float) -> float:
        """Keep a fixed rate: wait until the next slot (pacing, not synchronisation)."""
        nxt += interval
        delay = nxt - time.monotonic()
        if delay > 0:
            self.stop.wait(delay)
        return max(nxt, time.monotonic() - 1)

    def _reader(self, index: int) -> None:
        interval = self.readers / self.read_rate
        nxt = time.monotonic()
        n = 0
        with httpx.Client(base_url=self.target.proxy_url, timeout=10) as client:
            while not self.stop.is_set():
                n += 1
                user = f"r{index}-{n % 50}"
                try:
                    response = client.get(self.workload.read_path, headers={"X-User-Id": user})
                    ok = response.status_code == 200
                    upstream = response.headers.get("x-upstream", "?")
                    kind = None if ok else f"read {response.status_code}"
                except httpx.HTTPError as exc:
                    ok, upstream, kind = False, "?", f"read {type(exc).__name__}"
                with self.lock:
                    self.report.reads += 1
                    self.report.upstreams[upstream] = self.report.upstreams.get(upstream, 0) + 1
                    if not ok:
                        self.report.failed_reads += 1
                        self._fail(kind)
                    elif self.killed_at is None:
                        path = self.user_paths.setdefault(user, [])
                        if not path or path[-1] != upstream:
                            path.append(upstream)
                nxt = self._pace(interval, nxt)

    def _writer(self, index: int) -> None:
        interval = self.writers / self.write_rate
        nxt = time.monotonic()
        n = 0
        headers = {"Authorization": f"Bearer {self.target.token}"}
        with httpx.Client(base_url=self.target.proxy_url, timeout=10) as client:
            while not self.stop.is_set():
                n += 1
                key = f"{self.run}-{index}-{n}"
                ok = False
                began = time.time()
                with self.lock:
                    self.writing += 1
                sent = {**headers, "Idempotency-Key": key} if self.client_retries else headers
                for attempt in range(1 + self.client_retries):
                    try:
                        response = client.post(self.workload.write_path, json=self.workload.body(key), headers=sent)
                        ok = response.status_code in (200, 201)
                        kind = None if ok else f"write {response.status_code}"
                    except httpx.HTTPError as exc:
                        kind = f"write {type(exc).__name__}"
                    with self.lock:
                        if not ok:
                            self._fail(kind)
                    if ok or attempt == self.client_retries:
                        break
                    with self.lock:
                        self.report.write_retries += 1
                    time.sleep(0.1 * (attempt + 1))  # client back-off before retrying with the same key
                with self.lock:
                    self.writing -= 1
                    self.report.writes += 1
                    if not ok:
                        self.report.failed_writes += 1
                    if self.killed_at is not None and began <= self.killed_at < time.time():
                        self.report.in_flight += 1  # sent before the SIGKILL, answered after it
                        self.report.in_flight_ok += ok
                nxt = self._pace(interval, nxt)


def _last_audit_id(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT coalesce(max(id), 0) FROM flag_audit").fetchone()[0]


def _rollback_at(url: str, domain: str, since_id: int) -> float | None:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT extract(epoch FROM at)::float8 FROM flag_audit WHERE id > %s AND domain = %s "
                           "AND action = %s ORDER BY id LIMIT 1",
                           [since_id, domain, flag_contract.ACTION_AUTO_ROLLBACK]).fetchone()
    return row[0] if row else None


def _poll(predicate: Callable[[], object], timeout: float, interval: float = 0.02) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def run_drill(target: DrillTarget, *, steps: tuple[int, ...] = (10, 50, 100), step_seconds: float = 5.0,
              read_rate: float = 180.0, write_rate: float = 10.0, settle_seconds: float = 3.0,
              client_retries: int = 0, writers: int = 1, say: Say = print) -> DrillReport:
    """Run the whole drill against ``target``; returns the report (also said line by line).

    ``client_retries``: 0 (default) for writers that never retry and send no key; N for
    writers that retry N times with their own ``Idempotency-Key``. ``writers``: concurrent
    writer threads sharing ``write_rate`` (more of them, more writes in flight at the kill).
    """
    workload = WORKLOADS.get(target.domain)
    if workload is None:
        raise ValueError(f"no drill workload for {target.domain!r}; defined: {', '.join(WORKLOADS)}")
    run = uuid.uuid4().hex[:10]
    actor = "drill"
    set_flag = lambda changes, why: flags.set_flag(target.domain, changes, actor, why,  # noqa: E731
                                                   url=target.sqlalchemy_url)
    set_flag({"mode": "monolith", "percent": 0}, f"drill {run}: start from the monolith")
    load = _Load(target, workload, run, read_rate, write_rate, readers=max(4, int(read_rate // 20)),
                 client_retries=client_retries, writers=writers)
    load.report.client_retries = client_retries
    began = time.monotonic()
    load.start()
    try:
        for percent in steps:
            say(f"step: {target.domain} at {percent}%")
            set_flag({"mode": "gradual", "percent": percent}, f"drill {run}: step {percent}%")
            load.stop.wait(step_seconds)
        since = _last_audit_id(target.database_url)
        say(f"kill: SIGKILL to the {target.domain} service's process group, while a write is in flight")
        _poll(lambda: load.writing > 0, timeout=5, interval=0.0002)  # the worst moment for a write
        killed = time.time()
        with load.lock:
            load.killed_at = killed
        target.kill()
        at = _poll(lambda: _rollback_at(target.database_url, target.domain, since), timeout=30)
        load.report.rollback_s = None if at is None else max(0.0, at - killed)
        say("rollback recorded" if at is not None else "no rollback recorded within 30 s")
        load.stop.wait(settle_seconds)
        say(f"restart: {target.domain} service")
        restarted = time.monotonic()
        target.restart()
        set_flag({"mode": "service", "percent": 100}, f"drill {run}: back on the service after restart")
        served = _poll(lambda: _served_by_service(target, workload), timeout=30)
        load.report.recover_s = time.monotonic() - restarted if served else None
        load.stop.wait(settle_seconds)
    finally:
        load.finish()
    report = load.report
    report.seconds = time.monotonic() - began
    report.flips = sum(1 for path in load.user_paths.values() if len(path) > 2)
    with psycopg.connect(target.database_url) as conn:
        counts = conn.execute(workload.count_sql, [f"drill-{run}-%"]).fetchall()
    report.created = sum(c for _, c in counts)
    report.duplicates = sum(c - 1 for _, c in counts if c > 1)
    for line in report.lines():
        say(line)
    return report


def _served_by_service(target: DrillTarget, workload: Workload) -> bool:
    try:
        response = httpx.get(f"{target.proxy_url}{workload.read_path}", timeout=2)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and response.headers.get("x-upstream") == target.domain
