"""Proxy benchmark: this gateway vs Go's httputil.ReverseProxy in front of nginx.

One run, four targets alternating for ``--rounds`` rounds (wrk, 1 thread, 32 connections,
``--duration`` s each): direct nginx; the gateway (``python -m proxy``, 2 workers, every
feature on: ``PROXY_AUTH_MODE=all`` with a real Ed25519 token on every request, canonical
paths, sticky routing on a gradual 50% movies flag whose two backends are the same nginx,
fallback and error windows, Prometheus multiprocess metrics and Redis traffic counters, live
flags); the Go proxy with the default transport and with a tuned one (512 idle connections
per host). The Go proxies forward the same token header but do no work on it.

Reported per target: median req/s, p50/p99 and the target's CPU time per request (its whole
process tree, from ``/proc``; the fair yardstick on a machine shared with other work), then
both ratios against each Go proxy. Then p99 added latency at a fixed 1k req/s (open-loop Go
load generator ``bench/go/load``, direct nginx vs gateway, alternating, median of the
rounds), and flag propagation p50/p99 over 50 changes to two gateway processes.

Flags live in a dedicated ``<database>_bench`` database (created and migrated here) so the
benchmark never touches the real flag rows. Needs nginx, wrk and Go (``apt-get install nginx
wrk``); the Go programs are built into ``bench/bin/``.

    .venv/bin/python bench/proxy.py [--duration 10 --rounds 3 --rate 1000 250]     # or: make bench
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.lab.harness import (  # noqa: E402
    PATH,
    Series,
    Target,
    alternate,
    bench_database,
    build_go,
    free_port,
    operator_headers,
    paced,
    start_gateway,
    start_goproxy,
    start_nginx,
    stop,
    summarise,
    token_setup,
)

DURATION = 10
ROUNDS = 3
RATE = 1000
GATEWAY = "gateway (granian RSGI, 2 workers)"
GO_DEFAULT = "go default transport"
GO_TUNED = "go tuned transport"


def p99(values: list[float]) -> float:
    """99th percentile."""
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


def propagation(db_url: str, upstream: str, workdir: Path, env: dict[str, str]) -> tuple[float, float]:
    """p50/p99 (ms) from flag commit until two gateway processes both route by it (50 changes)."""
    from strangler import flags
    ports = [free_port(), free_port()]
    procs = [start_gateway(p, upstream, db_url, workdir / f"prop-{p}.log", workers=1, env=env) for p in ports]
    delays = []
    try:
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{p}", headers=operator_headers(env["JWT_PUBLIC_KEY_PATH"]))
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
            stop(proc)
    return statistics.median(delays), p99(delays)


def ratios(series: dict[str, Series]) -> str:
    """Gateway vs each Go proxy: req/s ratio and CPU-per-request ratio (>1 = the gateway is cheaper)."""
    gw = series[GATEWAY]
    lines = []
    for name in (GO_DEFAULT, GO_TUNED):
        go = series[name]
        lines.append(f"  gateway / {name}: req/s {gw.rps / go.rps:.2f}x; CPU efficiency "
                     f"(go cpu/req ÷ gateway cpu/req) {go.cpu_us / gw.cpu_us:.2f}x (target >= 1.0)")
    return "\n".join(lines)


def added_latency(goload: Path, direct: str, gateway: str, token: str, rate: int, rounds: int) -> str:
    """Open-loop ``rate`` req/s, direct vs gateway alternating; medians over the rounds."""
    runs: dict[str, list[dict[str, float]]] = {"direct": [], "gateway": []}
    auth = {"Authorization": f"Bearer {token}"}
    for _ in range(rounds):
        runs["direct"].append(paced(goload, direct, rate, 10, auth))
        runs["gateway"].append(paced(goload, gateway, rate, 10, auth))

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name])

    added = [g["p99"] - d["p99"] for d, g in zip(runs["direct"], runs["gateway"], strict=True)]
    return (f"  at {rate} req/s open-loop (bench/go/load, 10 s x {rounds} alternating): "
            f"direct p50 {med('direct', 'p50'):.2f} ms p99 {med('direct', 'p99'):.2f} ms; "
            f"gateway p50 {med('gateway', 'p50'):.2f} ms p99 {med('gateway', 'p99'):.2f} ms; "
            f"added p99 {statistics.median(added):.2f} ms (rounds: {', '.join(f'{a:.2f}' for a in added)}; "
            f"target <= 1 ms); errors {sum(r['errors'] for rs in runs.values() for r in rs):.0f}")


def main(argv: list[str] | None = None) -> None:
    """Run everything and print the figures."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=DURATION, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--rate", type=int, nargs="+", default=[RATE],
                        help="fixed rate(s) of the added-latency test, req/s")
    parser.add_argument("--no-propagation", action="store_true", help="skip the flag propagation test")
    args = parser.parse_args(argv)
    for tool in ("nginx", "wrk", "go"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            print(f"proxy bench skipped: {tool} not installed (apt-get install nginx wrk; Go for the yardstick)")
            return
    workdir = Path(tempfile.mkdtemp(prefix="proxy-bench-"))
    procs = []
    try:
        goproxy = build_go()
        goload = goproxy.parent / "goload"
        db_url = bench_database()
        public_key, token = token_setup(workdir)
        gw_env = {"JWT_PUBLIC_KEY_PATH": public_key, "PROXY_AUTH_MODE": "all"}
        auth = {"Authorization": f"Bearer {token}"}
        nginx_port, gw_port, go_default_port, go_tuned_port = (free_port() for _ in range(4))
        procs.append(start_nginx(workdir, nginx_port))
        upstream = f"http://127.0.0.1:{nginx_port}"
        procs.append(start_gateway(gw_port, upstream, db_url, workdir / "gateway.log", env=gw_env))
        gateway_pgid = procs[-1].pid
        go_pgids = {}
        for port, transport in ((go_default_port, "default"), (go_tuned_port, "tuned")):
            procs.append(start_goproxy(goproxy, port, upstream, transport))
            go_pgids[port] = procs[-1].pid
        url = "http://127.0.0.1:{}" + PATH
        targets = {
            "direct nginx": Target(url.format(nginx_port), procs[0].pid, auth),
            GATEWAY: Target(url.format(gw_port), gateway_pgid, auth),
            GO_DEFAULT: Target(url.format(go_default_port), go_pgids[go_default_port], auth),
            GO_TUNED: Target(url.format(go_tuned_port), go_pgids[go_tuned_port], auth),
        }
        series = alternate(targets, args.rounds, args.duration)
        print(f"wrk -t1 -c32 -d{args.duration}s --latency, {args.rounds} alternating rounds (medians), ~1 KB JSON "
              f"from nginx, bearer token on every request ({os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f} at the end)")
        print(summarise(series, GO_TUNED))
        print(ratios(series))
        for rate in args.rate:
            print(added_latency(goload, url.format(nginx_port), url.format(gw_port), token, rate, args.rounds))
        if not args.no_propagation:
            p50_ms, p99_ms = propagation(db_url, upstream, workdir, gw_env)
            print(f"  flag propagation to 2 gateway processes (50 changes): p50 {p50_ms:.1f} ms, p99 {p99_ms:.1f} ms "
                  "(target p99 <= 100 ms)")
    finally:
        for proc in reversed(procs):
            stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
