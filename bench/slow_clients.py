"""Slow-client benchmark: 256 connections trickling request bodies vs. everyone else's reads.

The slow-body attack: connections that send a login body one byte at a time. Before the
gateway buffered bodies, 16 of them held every thread of the monolith and every other request
timed out. Here the gateway (``python -m proxy``, 2 workers, default limits) fronts the real
monolith (gunicorn, ``WEB_WORKERS`` x ``WEB_THREADS`` threads) on a private ``_bench`` database:

1. baseline: ``wrk -c32`` on ``GET /api/movies`` through the gateway for ``--hold`` seconds;
2. attack: ``--slow`` connections (default 256, spread over 8 loopback source addresses so
   they stay under the per-address cap) each send ``POST /api/auth/login`` headers and then
   one body byte every ``--trickle`` seconds; whenever the gateway cuts one off (408 below
   the minimum body rate) it reconnects at once, so ``--slow`` stay open for the whole hold.
   The same ``wrk`` run is repeated meanwhile.

Prints both p50/p99, the ratio (goal: p99 with the attack within 2x of without) and what
the slow connections got back.

    .venv/bin/python bench/slow_clients.py [--hold 60 --slow 256 --trickle 2]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.lab.harness import PATH, bench_database, free_port, ready, spawn, start_gateway, stop, wrk  # noqa: E402

SOURCES = [f"127.0.0.{i}" for i in range(2, 10)]  # 8 addresses; the load itself comes from 127.0.0.1
HEAD = (b"POST /api/auth/login HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1024\r\n\r\n")


class Swarm:
    """Slow connections kept open by reconnecting, on their own event loop in a thread."""

    def __init__(self, port: int, count: int, trickle: float) -> None:
        self.port = port
        self.count = count
        self.trickle = trickle
        self.open = 0
        self.answers: collections.Counter[str] = collections.Counter()
        self.samples: list[int] = []  # open connections, every 0.5 s while measuring
        self.measuring = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> None:
        """Open the connections (returns at once)."""
        self._thread.start()

    def stop(self) -> None:
        """Close every connection and wait for the thread."""
        self._stop.set()
        self._thread.join(30)

    async def _run(self) -> None:
        tasks = [asyncio.create_task(self._connection(SOURCES[i % len(SOURCES)])) for i in range(self.count)]
        while not self._stop.is_set():
            if self.measuring:
                self.samples.append(self.open)
            await asyncio.sleep(0.5)  # the sampling period of the open-connection gauge
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _connection(self, source: str) -> None:
        while not self._stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port, local_addr=(source, 0))
            except OSError as exc:
                self.answers[f"connect error {type(exc).__name__}"] += 1
                await asyncio.sleep(0.2)  # back off before reconnecting
                continue
            self.open += 1
            try:
                writer.write(HEAD)
                self.answers[await self._trickle(reader, writer)] += 1
            except OSError as exc:
                self.answers[f"reset {type(exc).__name__}"] += 1
            finally:
                self.open -= 1
                writer.close()

    async def _trickle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> str:
        """Send a byte every ``trickle`` seconds until the gateway answers or closes."""
        while True:
            writer.write(b" ")
            await writer.drain()
            try:
                data = await asyncio.wait_for(reader.read(64), self.trickle)
            except TimeoutError:
                continue
            if not data:
                return "closed without an answer"
            return data.split(b"\r\n", 1)[0].decode(errors="replace").partition(" ")[2] or "garbled"


def main(argv: list[str] | None = None) -> None:
    """Run both phases and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hold", type=int, default=60, help="seconds each phase runs (slow connections held open)")
    parser.add_argument("--slow", type=int, default=256, help="slow connections")
    parser.add_argument("--trickle", type=float, default=2.0, help="seconds between body bytes of a slow connection")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections of the other clients")
    args = parser.parse_args(argv)

    db_url = bench_database()
    with tempfile.TemporaryDirectory(prefix="slow-clients-") as tmp:
        workdir = Path(tmp)
        monolith_port, gateway_port = free_port(), free_port()
        monolith = spawn([sys.executable, "-m", "domain_services.monolith"],
                         {"PORT": str(monolith_port), "DATABASE_URL": db_url, "LOG_LEVEL": "WARNING"},
                         workdir / "monolith.log")
        gateway = None
        try:
            ready(f"http://127.0.0.1:{monolith_port}/health")
            gateway = start_gateway(gateway_port, f"http://127.0.0.1:{monolith_port}", db_url,
                                    workdir / "gateway.log")
            url = f"http://127.0.0.1:{gateway_port}{PATH}"
            wrk(url, 2, args.connections)  # warm-up: pools, caches
            print(f"gateway :{gateway_port} -> monolith :{monolith_port}; wrk -c{args.connections} {args.hold}s "
                  f"GET {PATH}")
            quiet = wrk(url, args.hold, args.connections)
            print(f"  without slow clients: {quiet.rps:7.0f} req/s  p50 {quiet.p50:7.2f} ms  p99 {quiet.p99:7.2f} ms"
                  f"  errors {quiet.errors:.0f}")
            swarm = Swarm(gateway_port, args.slow, args.trickle)
            swarm.start()
            deadline = time.monotonic() + 30
            while swarm.open < args.slow and time.monotonic() < deadline:
                time.sleep(0.1)  # waiting for the swarm to connect (its own thread), bounded
            swarm.measuring = True
            try:
                loaded = wrk(url, args.hold, args.connections)
            finally:
                swarm.measuring = False
                swarm.stop()
            held = sorted(swarm.samples)[len(swarm.samples) // 2] if swarm.samples else 0
            print(f"  with {args.slow} slow:      {loaded.rps:7.0f} req/s  p50 {loaded.p50:7.2f} ms  "
                  f"p99 {loaded.p99:7.2f} ms  errors {loaded.errors:.0f}")
            print(f"  p99 ratio {loaded.p99 / quiet.p99:.2f}x (goal <= 2x); slow connections open: median {held}, "
                  f"min {min(swarm.samples, default=0)}; their answers: {dict(swarm.answers)}")
        finally:
            if gateway is not None:
                stop(gateway)
            stop(monolith)


if __name__ == "__main__":
    main()
