"""Proxy benchmark: this gateway vs Go's httputil.ReverseProxy in front of nginx (docs/architecture.md §9).

Runs (alternating, ``ROUNDS`` rounds, wrk 1 thread / 32 connections / ``DURATION`` each):
direct nginx; the gateway (``python -m proxy``, 2 workers, granian RSGI, sticky routing on
a gradual 50% movies flag whose both backends are nginx, metrics, live flags); the Go proxy
with the default transport and with a tuned one (512 idle connections per host). Then p99
added latency at a fixed 1k req/s (asyncio client, direct vs gateway), and flag propagation
p50/p99 over 50 changes to two gateway processes.

Flags live in a dedicated ``<database>_bench`` database (created and migrated here) so the
benchmark never touches the real flag rows. Needs nginx, wrk and Go (``apt-get install nginx
wrk``); the Go proxy is built into ``bench/bin/``.

    .venv/bin/python bench/proxy.py [--duration 10 --rounds 2]     # or: make bench
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.support.processes import free_port, wait_until  # noqa: E402

DURATION = 10
ROUNDS = 2
PATH = "/api/movies"
BODY = (b'[' + b",".join(b'{"id": %d, "title": "Movie %03d", "description": "A classic film", '
                         b'"genres": ["Drama"], "rating": 8.8}' % (i, i) for i in range(10)) + b']')


def _spawn(argv: list[str], env: dict[str, str] | None = None, log: Path | None = None) -> subprocess.Popen:
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - owned by the child
    return subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def _ready(url: str) -> None:
    wait_until(lambda: httpx.get(url, timeout=1).status_code == 200, timeout=30, interval=0.1, message=url)


def start_nginx(workdir: Path, port: int) -> subprocess.Popen:
    """nginx (one process) serving a ~1 KB JSON file at every path."""
    (workdir / "www").mkdir()
    (workdir / "www" / "movies.json").write_bytes(BODY)
    conf = workdir / "nginx.conf"
    scratch = workdir / "scratch"
    conf.write_text(f"""
daemon off; master_process off; worker_processes 1; pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off; keepalive_requests 1000000; keepalive_timeout 120s;
  client_body_temp_path {scratch}; proxy_temp_path {scratch}; fastcgi_temp_path {scratch};
  uwsgi_temp_path {scratch}; scgi_temp_path {scratch};
  server {{ listen 127.0.0.1:{port} reuseport backlog=4096; root {workdir}/www;
    location / {{ default_type application/json; try_files /movies.json =404; }} }}
}}""")
    scratch.mkdir()
    proc = _spawn([shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(workdir), "-c", str(conf)])
    _ready(f"http://127.0.0.1:{port}{PATH}")
    return proc


def build_go() -> Path:
    """Build bench/go into bench/bin/goproxy."""
    binary = ROOT / "bench" / "bin" / "goproxy"
    binary.parent.mkdir(exist_ok=True)
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=ROOT / "bench" / "go", check=True)
    return binary


def bench_database() -> str:
    """``<configured database>_bench``: created, migrated, movies flag gradual 50% (sticky by user)."""
    import psycopg
    from alembic import command
    from sqlalchemy.engine import make_url

    from cinemaabyss.commands.db import alembic_config
    from domain_services.shared import flags
    from domain_services.shared.settings import load_settings

    url = make_url(load_settings().database_url)
    name = f"{url.database}_bench"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    bench_url = url.set(database=name).render_as_string(hide_password=False)
    config = alembic_config(bench_url)
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")
    flags.set_flag("movies", {"mode": "gradual", "percent": 50, "sticky_key": "client"}, "bench", url=bench_url)
    return bench_url


def start_gateway(port: int, upstream: str, db_url: str, workers: int, log: Path) -> subprocess.Popen:
    """``python -m proxy`` with both movies backends pointing at ``upstream``."""
    env = {"PORT": str(port), "WEB_WORKERS": str(workers), "MONOLITH_URL": upstream,
           "MOVIES_SERVICE_URL": upstream, "DATABASE_URL": db_url, "LOG_LEVEL": "WARNING"}
    proc = _spawn([sys.executable, "-m", "proxy"], env, log)
    _ready(f"http://127.0.0.1:{port}/health")
    wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/health", headers={"Accept": "application/json"})
               .json()["flags"]["movies"]["mode"] == "gradual", timeout=10)
    return proc


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def wrk(url: str, duration: int = DURATION) -> dict[str, float]:
    """req/s, p50 and p99 (ms) from ``wrk -t1 -c32 --latency``."""
    out = subprocess.run(["wrk", "-t1", "-c32", f"-d{duration}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * _UNITS[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": pct("50"), "p99": pct("99"), "non2xx": float(errors.group(1)) if errors else 0.0}


async def _paced(url: str, rate: int, seconds: float) -> list[float]:
    """Latencies (ms) of GETs sent at ``rate`` per second over a small keep-alive pool."""
    import aiohttp

    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
        async def one() -> None:
            started = time.perf_counter()
            async with session.get(url) as response:
                await response.read()
            latencies.append((time.perf_counter() - started) * 1000)

        tasks = []
        start = time.perf_counter()
        for i in range(int(rate * seconds)):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return latencies


def p99(values: list[float]) -> float:
    """99th percentile."""
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


def propagation(db_url: str, upstream: str, workdir: Path) -> tuple[float, float]:
    """p50/p99 (ms) from flag commit until two gateway processes both route by it (50 changes)."""
    from domain_services.shared import flags

    ports = [free_port(), free_port()]
    procs = [start_gateway(p, upstream, db_url, 1, workdir / f"prop-{p}.log") for p in ports]
    delays = []
    try:
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{p}", headers={"Accept": "application/json"})
                   for p in ports]
        for change in range(1, 51):
            flags.set_flag("movies", {"percent": change}, "bench", url=db_url)
            committed = time.perf_counter()
            pending = {0, 1}
            while pending:
                for i in list(pending):
                    if clients[i].get("/health").json()["flags"]["movies"]["percent"] == change:
                        pending.discard(i)
            delays.append((time.perf_counter() - committed) * 1000)
        flags.set_flag("movies", {"percent": 50}, "bench", url=db_url)
    finally:
        for proc in procs:
            _stop(proc)
    return statistics.median(delays), p99(delays)


def main(argv: list[str] | None = None) -> None:
    """Run everything and print the figures (``--duration`` seconds per wrk run, ``--rounds``)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=DURATION)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)
    for tool in ("nginx", "wrk", "go"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            print(f"proxy bench skipped: {tool} not installed (apt-get install nginx wrk; Go for the yardstick)")
            return
    workdir = Path(tempfile.mkdtemp(prefix="proxy-bench-"))
    procs: list[subprocess.Popen] = []
    try:
        goproxy = build_go()
        db_url = bench_database()
        nginx_port, gw_port, go_default_port, go_tuned_port = (free_port() for _ in range(4))
        procs.append(start_nginx(workdir, nginx_port))
        upstream = f"http://127.0.0.1:{nginx_port}"
        procs.append(start_gateway(gw_port, upstream, db_url, 2, workdir / "gateway.log"))
        for port, transport in ((go_default_port, "default"), (go_tuned_port, "tuned")):
            procs.append(_spawn([str(goproxy), "-listen", f"127.0.0.1:{port}", "-target", upstream,
                                 "-transport", transport]))
            _ready(f"http://127.0.0.1:{port}{PATH}")
        targets = {"direct nginx": nginx_port, "proxy (granian RSGI, 2 workers)": gw_port,
                   "go default transport": go_default_port, "go tuned transport": go_tuned_port}
        for port in targets.values():  # warm-up: pools, JIT-free but caches and connections
            wrk(f"http://127.0.0.1:{port}{PATH}", 2)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, port in targets.items():
                runs[name].append(wrk(f"http://127.0.0.1:{port}{PATH}", args.duration))
        print(f"wrk -t1 -c32 -d{args.duration}s --latency, {args.rounds} alternating rounds, ~1 KB JSON from nginx "
              f"({os.cpu_count()} CPUs)")
        summary = {}
        for name, results in runs.items():
            rps = statistics.mean(r["rps"] for r in results)
            summary[name] = rps
            print(f"  {name:<34} {rps:>9.0f} req/s  p50 {statistics.mean(r['p50'] for r in results):6.2f} ms  "
                  f"p99 {statistics.mean(r['p99'] for r in results):6.2f} ms  "
                  f"(runs: {', '.join(format(r['rps'], '.0f') for r in results)}; "
                  f"non-2xx {sum(r['non2xx'] for r in results):.0f})")
        gw = summary["proxy (granian RSGI, 2 workers)"]
        print(f"  ratio proxy / go default transport: {gw / summary['go default transport']:.2f}x (target >= 1.0)")
        print(f"  ratio proxy / go tuned transport:   {gw / summary['go tuned transport']:.2f}x (stretch >= 1.0)")

        direct = asyncio.run(_paced(f"http://127.0.0.1:{nginx_port}{PATH}", 1000, 5))
        proxied = asyncio.run(_paced(f"http://127.0.0.1:{gw_port}{PATH}", 1000, 5))
        print(f"  at 1k req/s (5 s, asyncio client): direct p50 {statistics.median(direct):.2f} ms "
              f"p99 {p99(direct):.2f} ms; proxy p50 {statistics.median(proxied):.2f} ms p99 {p99(proxied):.2f} ms; "
              f"added p99 {p99(proxied) - p99(direct):.2f} ms (target <= 2 ms)")
        p50_ms, p99_ms = propagation(db_url, upstream, workdir)
        print(f"  flag propagation to 2 proxy processes (50 changes): p50 {p50_ms:.1f} ms, p99 {p99_ms:.1f} ms "
              "(target p99 <= 100 ms)")
    finally:
        for proc in reversed(procs):
            _stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
