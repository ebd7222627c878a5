"""Login-flood benchmark: 24 clients hammering ``POST /api/auth/login`` vs. real users and readers.

Each login costs one argon2 check, even for a username that does not exist (so timing does
not tell which accounts exist). Before the users service bounded that work, 24 flooding
clients took a real user's login p50 from 133 ms to 5.7 s and ``GET /api/users`` p99 from
30 ms to 5 s. Here the gateway (``python -m proxy``) fronts the real users service (gunicorn,
``WEB_WORKERS`` x ``WEB_THREADS``) on a private ``_bench`` database, and every client has a
real loopback source address of its own:

* real users: one login every ``--pace`` seconds, each from its own address ``127.0.1.x``
  (many users, one login each), with the right password;
* a reader: ``GET /api/users?limit=20`` at ``--read-rate``/s from ``127.0.0.1``;
* the flood: ``--flooders`` clients in closed loops, each login an unknown username with a
  wrong password — all from ``127.0.0.2`` (one attacker) or, with ``--spread``, each from
  its own address ``127.0.2.x`` (a botnet: every address within its own budget).

Phase 1 runs real users and the reader alone (baseline), phase 2 adds the flood. Prints the
real users' login p50/p99, the reader's p50/p99, what the flood got back, and the ratios
(goal: both ≤ 2x).

    .venv/bin/python bench/login_flood.py [--seconds 20 --flooders 24 --spread]
"""

from __future__ import annotations

import argparse
import collections
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.lab.harness import bench_database, free_port, ready, spawn, stop  # noqa: E402

PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway account on the bench database


def _client(base: str, address: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=30, transport=httpx.HTTPTransport(local_address=address))


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Phase:
    """One measured phase: real users' logins, a paced reader and (optionally) the flood, in threads."""

    def __init__(self, base: str, username: str, args: argparse.Namespace, *, flood: bool, round_: int) -> None:
        self.base, self.username, self.args, self.flood, self.round = base, username, args, flood, round_
        self.stop = threading.Event()
        self.logins: list[float] = []
        self.login_statuses: collections.Counter[int] = collections.Counter()
        self.reads: list[float] = []
        self.read_statuses: collections.Counter[int] = collections.Counter()
        self.flood_statuses: collections.Counter[int] = collections.Counter()
        self.refusals: collections.Counter[str] = collections.Counter()  # real users' non-200 answers
        self._lock = threading.Lock()

    def run(self) -> None:
        """Run every client for ``--seconds`` (the flood starts 2 s early, so it is at full force)."""
        threads = [threading.Thread(target=self._flooder, args=(i,), daemon=True)
                   for i in range(self.args.flooders if self.flood else 0)]
        for thread in threads:
            thread.start()
        if self.flood:
            time.sleep(2)  # let the flood reach steady state before measuring
        measured = [threading.Thread(target=self._real_users, daemon=True),
                    threading.Thread(target=self._reader, daemon=True)]
        for thread in measured:
            thread.start()
        time.sleep(self.args.seconds)
        self.stop.set()
        for thread in measured + threads:
            thread.join(60)

    def _real_users(self) -> None:
        index = 0
        while not self.stop.is_set():
            address = f"127.0.1.{(self.round * 97 + index) % 250 + 1}"
            index += 1
            with _client(self.base, address) as client:
                started = time.perf_counter()
                response = client.post("/api/auth/login", json={"username": self.username, "password": PASSWORD})
                elapsed = (time.perf_counter() - started) * 1000
            self.logins.append(elapsed)
            self.login_statuses[response.status_code] += 1
            if response.status_code != 200:
                self.refusals[f"{response.status_code} {response.text[:80]}"] += 1
            self.stop.wait(max(0.0, self.args.pace - elapsed / 1000))

    def _reader(self) -> None:
        interval = 1 / self.args.read_rate
        with _client(self.base, "127.0.0.1") as client:
            next_at = time.perf_counter()
            while not self.stop.is_set():
                started = time.perf_counter()
                status = client.get("/api/users", params={"limit": 20}).status_code
                self.reads.append((time.perf_counter() - started) * 1000)
                self.read_statuses[status] += 1
                next_at += interval
                self.stop.wait(max(0.0, next_at - time.perf_counter()))

    def _flooder(self, index: int) -> None:
        address = f"127.0.2.{index + 1}" if self.args.spread else "127.0.0.2"
        # paced open loop at --flood-rate in total, or a closed loop (as fast as answers come back)
        interval = self.args.flooders / self.args.flood_rate if self.args.flood_rate else 0.0
        next_at = time.perf_counter() + interval * index / max(1, self.args.flooders)
        with _client(self.base, address) as client:
            while not self.stop.is_set():
                if interval:
                    self.stop.wait(max(0.0, next_at - time.perf_counter()))
                    next_at += interval
                try:
                    status = client.post("/api/auth/login", json={"username": f"nobody{uuid.uuid4().hex[:10]}",
                                                                  "password": "wrong-password"}).status_code
                except httpx.HTTPError:
                    status = 0
                with self._lock:
                    self.flood_statuses[status] += 1

    def line(self, name: str) -> str:
        """The phase's figures on one line."""
        return (f"  {name:<9} login p50 {statistics.median(self.logins):7.1f} ms  "
                f"p99 {_percentile(self.logins, .99):7.1f} ms  ({len(self.logins)} logins {dict(self.login_statuses)})"
                "   GET /api/users p50 "
                f"{statistics.median(self.reads):6.1f} ms  p99 {_percentile(self.reads, .99):7.1f} ms "
                f"({len(self.reads)} reads {dict(self.read_statuses)})")


def _register(base: str) -> str:
    username = f"bench{uuid.uuid4().hex[:10]}"
    # a fresh address each run: sign-ups are budgeted per address and hour
    with _client(base, f"127.3.{random.randrange(256)}.{random.randrange(1, 255)}") as client:
        response = client.post("/api/auth/register", json={"username": username, "email": f"{username}@example.com",
                                                          "password": PASSWORD})
        response.raise_for_status()
    return username


def main(argv: list[str] | None = None) -> None:
    """Start the users service behind the gateway, run both phases, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20, help="measured seconds per phase")
    parser.add_argument("--flooders", type=int, default=24, help="flooding clients (closed loops)")
    parser.add_argument("--spread", action="store_true", help="each flooder from its own address")
    parser.add_argument("--flood-rate", type=float, default=0,
                        help="flood logins per second in total, paced (0 = closed loops, as fast as answered)")
    parser.add_argument("--pace", type=float, default=0.5, help="seconds between a real user's logins")
    parser.add_argument("--read-rate", type=float, default=20, help="GET /api/users per second")
    args = parser.parse_args(argv)

    db_url = bench_database()
    with tempfile.TemporaryDirectory(prefix="login-flood-") as tmp:
        workdir = Path(tmp)
        users_port, gateway_port = free_port(), free_port()
        users = spawn([sys.executable, "-m", "domain_services.users"],
                      {"PORT": str(users_port), "DATABASE_URL": db_url, "LOG_LEVEL": "WARNING", "RUN_DIR": tmp},
                      workdir / "users.log")
        gateway = None
        try:
            ready(f"http://127.0.0.1:{users_port}/api/users/health")
            # the gateway's "monolith" is the users service: every /api/users and /api/auth request reaches it
            upstream = f"http://127.0.0.1:{users_port}"
            gateway = spawn([sys.executable, "-m", "proxy"],
                            {"PORT": str(gateway_port), "WEB_WORKERS": "2", "MONOLITH_URL": upstream,
                             "USERS_SERVICE_URL": upstream, "DATABASE_URL": db_url, "LOG_LEVEL": "WARNING",
                             "RUN_DIR": tmp}, workdir / "gateway.log")
            ready(f"http://127.0.0.1:{gateway_port}/health")
            base = f"http://127.0.0.1:{gateway_port}"
            username = _register(base)
            print(f"gateway :{gateway_port} -> users :{users_port}; {args.seconds}s per phase; "
                  f"{args.flooders} flooders from {'their own addresses' if args.spread else 'one address'}, "
                  f"{f'{args.flood_rate:g} logins/s' if args.flood_rate else 'closed loops'}")
            quiet = Phase(base, username, args, flood=False, round_=0)
            quiet.run()
            print(quiet.line("baseline"))
            loaded = Phase(base, username, args, flood=True, round_=1)
            loaded.run()
            print(loaded.line("flood"))
            rate = sum(loaded.flood_statuses.values()) / (args.seconds + 2)
            print(f"  flood answers: {dict(loaded.flood_statuses)} ({rate:.0f}/s); real users refused: "
                  f"{dict(loaded.refusals) or 'none'}")
            login_ratio = statistics.median(loaded.logins) / statistics.median(quiet.logins)
            read_ratio = _percentile(loaded.reads, .99) / _percentile(quiet.reads, .99)
            print(f"  ratios: login p50 {login_ratio:.2f}x, GET p99 {read_ratio:.2f}x (goal <= 2x each)")
        finally:
            if gateway is not None:
                stop(gateway)
            stop(users)


if __name__ == "__main__":
    main()
