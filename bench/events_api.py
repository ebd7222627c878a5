"""Events API benchmark: req/s and latency of ``POST /api/events/movie`` (201 after the broker ack).

Target (docs/architecture.md §9): ≥ 1,000 req/s with p99 ≤ 50 ms.

Starts what it needs on free ports — a throw-away Kafka broker (the stack's own start code)
and ``python -m domain_services.events`` (API + consumers, writing to the bench database) —
drives it with ``wrk`` (1 thread, a Lua script POSTing a JSON body, ~10 s per run, at several
connection counts) and stops everything. Every request waits for an ``acks=all``
acknowledgement of an idempotent producer.

Run: ``.venv/bin/python bench/events_api.py`` (needs ``wrk``: ``apt-get install wrk``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DURATION_S = 10
CONNECTIONS = (8, 16, 32)
TARGET_RPS = 1_000
TARGET_P99_MS = 50.0

LUA = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"movie_id": 42, "title": "The Dark Knight", "action": "viewed", "user_id": 7, "rating": 9.0, ' ..
           '"genres": ["Action", "Crime", "Drama"], "description": "Batman raises the stakes in his war on crime."}'
done = function(summary, latency, requests)
  local s = summary
  io.write(string.format('RESULT {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    s.requests, s.duration, s.errors.status, s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def _wrk(url: str, connections: int, script: Path, duration: int = DURATION_S) -> dict:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def main() -> None:
    """Start broker and service, run wrk at each connection count, print the figures, stop all."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    from bench.relay import bench_database
    from kernel.settings import get_settings
    from tests.support.processes import free_port, start_process
    from tests.worker.kafka_private import PrivateKafka

    kafka = PrivateKafka()
    service = None
    workdir = Path(tempfile.mkdtemp(prefix="bench-events-"))
    try:
        kafka.start()
        service = start_process("bench-events", "domain_services.events", port=free_port(),
                                env={"KAFKA_BROKERS": kafka.bootstrap, "LOG_LEVEL": "WARNING",
                                     # the consumers' processed_events rows go to the bench database
                                     "DATABASE_URL": bench_database(get_settings().database_url)},
                                health_path="/api/events/health")
        script = workdir / "post.lua"
        script.write_text(LUA)
        url = f"{service.url}/api/events/movie"
        _wrk(url, 8, script, duration=3)  # warm-up: connections, producer batches, JIT of the broker
        print(f"load average before the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
              "(wrk, the service, its consumer and the broker share them)")
        for connections in CONNECTIONS:
            r = _wrk(url, connections, script)
            rps = r["requests"] / (r["duration_us"] / 1e6)
            p99 = r["p99_us"] / 1000
            print(f"events API, wrk -t1 -c{connections} -d{DURATION_S}s POST /api/events/movie: "
                  f"{rps:,.0f} req/s, p50 {r['p50_us'] / 1000:.1f} ms, p90 {r['p90_us'] / 1000:.1f} ms, "
                  f"p99 {p99:.1f} ms, max {r['max_us'] / 1000:.1f} ms, non-2xx {r['non2xx']}, "
                  f"socket errors {r['socket_errors']} "
                  f"(target >= {TARGET_RPS:,} req/s with p99 <= {TARGET_P99_MS:g} ms; "
                  f"ratios {rps / TARGET_RPS:.2f}x, {TARGET_P99_MS / p99:.2f}x)")
    finally:
        if service is not None:
            service.stop()
        kafka.destroy()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
