"""Side-by-side experiments on the gateway's data plane, one group per run.

Every variant of a group runs at the same time on its own port in front of the same nginx;
wrk (1 thread, 32 connections) alternates between them for ``--rounds`` rounds, so machine
noise hits all of them alike. Reported: median req/s, p50/p99 and the ratio to the group's
first variant (the configuration ``python -m proxy`` uses).

    .venv/bin/pip install pyreqwest rloop      # the client and loop groups' candidates
    .venv/bin/python -m bench.lab.experiments server client loop metrics ceiling [--rounds 3 --duration 8]
    .venv/bin/python -m bench.lab.experiments ceiling --with-go --paced 1000   # + Go yardsticks, open-loop p99

``--with-go`` adds the Go proxies of ``bench/proxy.py`` (default and tuned transport) to the
group; ``--paced RATE`` then sends ``RATE`` GETs/s open-loop (``bench/go/load``) to direct nginx
and to every target, alternating, and reports p50/p99 and the p99 added over direct nginx.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from bench.lab.harness import (
    PATH,
    Target,
    alternate,
    bench_database,
    build_go,
    free_port,
    paced,
    start_gateway,
    start_goproxy,
    start_nginx,
    stop,
    summarise,
)

SERVE = [sys.executable, "-m", "bench.lab.serve"]
BASE = ["--workers", "2", "--loop", "uvloop"]

#: group → variant name → ``bench.lab.serve`` options (the first is the reference).
GROUPS: dict[str, dict[str, list[str]]] = {
    "granian": {
        "2 workers, runtime auto, 1 thread": BASE,
        "1 worker": ["--workers", "1", "--loop", "uvloop"],
        "runtime mode st": [*BASE, "--runtime-mode", "st"],
        "runtime mode mt, 2 threads": [*BASE, "--runtime-mode", "mt", "--runtime-threads", "2"],
        "backpressure 32": [*BASE, "--backpressure", "32"],
        "task impl rust": [*BASE, "--task-impl", "rust"],
    },
    "loop": {
        "uvloop": BASE,
        "rloop": ["--workers", "2", "--loop", "rloop"],
        "asyncio": ["--workers", "2", "--loop", "asyncio"],
    },
    "client": {
        "pyreqwest, current-thread runtime (today)": BASE,
        "pyreqwest, multi-thread runtime": [*BASE, "--app", "bench.lab.variants:reqwest_mt"],
    },
    "server": {
        "python -m proxy today": BASE,
        "runtime st": [*BASE, "--runtime-mode", "st"],
        "task impl rust": [*BASE, "--task-impl", "rust"],
        "runtime st + task impl rust": [*BASE, "--runtime-mode", "st", "--task-impl", "rust"],
    },
    "ceiling": {
        "gateway": BASE,
        "floor: pyreqwest forward, nothing else": [*BASE, "--app", "bench.lab.variants:reqwest_floor"],
        "floor: pyreqwest streamed forward": [*BASE, "--app", "bench.lab.variants:reqwest_streamed_floor"],
        "floor: static 1 KB answer, no upstream": [*BASE, "--app", "bench.lab.variants:static_floor"],
    },
    "workers": {
        "2 workers (today)": BASE,
        "3 workers": ["--workers", "3", "--loop", "uvloop"],
        "4 workers": ["--workers", "4", "--loop", "uvloop"],
        "floor: pyreqwest streamed forward": [*BASE, "--app", "bench.lab.variants:reqwest_streamed_floor"],
    },
    "worker-count": {
        "2 workers (today)": BASE,
        "3 workers": ["--workers", "3", "--loop", "uvloop"],
    },
    "tail": {
        "gateway": BASE,
        "collector at CPython defaults": [*BASE, "--app", "bench.lab.variants:gc_default"],
        "collector off": [*BASE, "--app", "bench.lab.variants:gc_off"],
        "no request metrics": [*BASE, "--app", "bench.lab.variants:no_metrics"],
        "floor: pyreqwest streamed forward": [*BASE, "--app", "bench.lab.variants:reqwest_streamed_floor"],
    },
    "metrics": {
        "metrics batched per tick (proxy.metrics)": BASE,
        "metrics per request (previous Recorder)": [*BASE, "--app", "bench.lab.variants:per_request_metrics"],
        "metrics written once a second": [*BASE, "--app", "bench.lab.variants:per_second_metrics"],
        "no request metrics": [*BASE, "--app", "bench.lab.variants:no_metrics"],
    },
}


def paced_table(urls: dict[str, str], rate: int, rounds: int) -> str:
    """Open-loop ``rate`` GETs/s to each URL in turn for ``rounds`` rounds of 10 s; p99 added over ``direct``."""
    goload = build_go().parent / "goload"
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in urls}
    for _ in range(rounds):
        for name, url in urls.items():
            runs[name].append(paced(goload, url, rate, 10))
    direct = runs["direct nginx"]
    lines = [f"open loop at {rate} req/s (bench/go/load, 10 s x {rounds} alternating), median of rounds"]
    for name, results in runs.items():
        added = [r["p99"] - d["p99"] for r, d in zip(results, direct, strict=True)]
        lines.append(f"  {name:<38} p50 {statistics.median(r['p50'] for r in results):6.2f} ms  "
                     f"p99 {statistics.median(r['p99'] for r in results):6.2f} ms  "
                     f"added p99 {statistics.median(added):6.2f} ms  "
                     f"(rounds: {', '.join(f'{a:.2f}' for a in added)}; "
                     f"errors {sum(r['errors'] for r in results):.0f})")
    return "\n".join(lines)


def run(group: str, rounds: int, duration: int, workdir: Path, db_url: str, upstream: str,
        with_go: bool = False, rate: int | None = None) -> str:
    """Start the group's variants, alternate wrk over them, stop them; the summary table."""
    procs, targets = [], {}
    try:
        for name, options in GROUPS[group].items():
            port = free_port()
            log = workdir / f"{group}-{port}.log"
            procs.append(start_gateway(port, upstream, db_url, log, argv=[*SERVE, *options]))
            targets[name] = Target(f"http://127.0.0.1:{port}{PATH}", procs[-1].pid)
        if with_go:
            goproxy = build_go()
            for transport in ("default", "tuned"):
                port = free_port()
                procs.append(start_goproxy(goproxy, port, upstream, transport))
                targets[f"go {transport} transport"] = Target(f"http://127.0.0.1:{port}{PATH}", procs[-1].pid)
        series = alternate(targets, rounds, duration) if duration else {}
        latency = ""
        if rate:
            urls = {"direct nginx": upstream + PATH, **{name: t.url for name, t in targets.items()}}
            latency = "\n" + paced_table(urls, rate, rounds)
    finally:
        for proc in procs:
            stop(proc)
    first = next(iter(GROUPS[group]))
    table = summarise(series, first) if series else "  (no wrk runs: --duration 0)"
    return f"{group}: wrk -t1 -c32 -d{duration}s, {rounds} alternating rounds, median\n" + table + latency


def main(argv: list[str] | None = None) -> None:
    """Run the named groups (all by default) and print one table each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", default=list(GROUPS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run (0: no wrk runs)")
    parser.add_argument("--with-go", action="store_true", help="add the Go proxies as targets")
    parser.add_argument("--paced", type=int, default=None, metavar="RATE",
                        help="also measure open-loop latency at RATE req/s")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    workdir = Path(tempfile.mkdtemp(prefix="proxy-lab-"))
    db_url = bench_database()
    nginx_port = free_port()
    nginx = start_nginx(workdir, nginx_port)
    try:
        for group in args.groups:
            print(run(group, args.rounds, args.duration, workdir, db_url, f"http://127.0.0.1:{nginx_port}",
                      args.with_go, args.paced), flush=True)
    finally:
        stop(nginx)


if __name__ == "__main__":
    main()
