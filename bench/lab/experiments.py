"""Side-by-side experiments on the gateway's data plane (issue #15), one group per run.

Every variant of a group runs at the same time on its own port in front of the same nginx;
wrk (1 thread, 32 connections) alternates between them for ``--rounds`` rounds, so machine
noise hits all of them alike. Reported: median req/s, p50/p99 and the ratio to the group's
first variant (the configuration ``python -m proxy`` uses).

    .venv/bin/pip install pyreqwest rloop      # the client and loop groups' candidates
    .venv/bin/python -m bench.lab.experiments server client loop metrics ceiling [--rounds 3 --duration 8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.lab.harness import (
    PATH,
    Target,
    alternate,
    bench_database,
    free_port,
    start_gateway,
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
        "aiohttp": BASE,
        "pyreqwest (current-thread runtime)": [*BASE, "--app", "bench.lab.variants:reqwest"],
        "pyreqwest (multi-thread runtime)": [*BASE, "--app", "bench.lab.variants:reqwest_mt"],
    },
    "combined": {
        "python -m proxy today": BASE,
        "runtime st + task impl rust": [*BASE, "--runtime-mode", "st", "--task-impl", "rust"],
        "pyreqwest": [*BASE, "--app", "bench.lab.variants:reqwest"],
        "pyreqwest + runtime st + task impl rust": [*BASE, "--runtime-mode", "st", "--task-impl", "rust",
                                                    "--app", "bench.lab.variants:reqwest"],
    },
    "server": {
        "python -m proxy today": BASE,
        "runtime st": [*BASE, "--runtime-mode", "st"],
        "task impl rust": [*BASE, "--task-impl", "rust"],
        "runtime st + task impl rust": [*BASE, "--runtime-mode", "st", "--task-impl", "rust"],
    },
    "ceiling": {
        "gateway": BASE,
        "floor: aiohttp forward, nothing else": [*BASE, "--app", "bench.lab.variants:aiohttp_floor"],
        "floor: pyreqwest forward, nothing else": [*BASE, "--app", "bench.lab.variants:reqwest_floor"],
        "floor: static 1 KB answer, no upstream": [*BASE, "--app", "bench.lab.variants:static_floor"],
    },
    "metrics": {
        "metrics batched per tick (proxy.metrics)": BASE,
        "metrics per request (previous Recorder)": [*BASE, "--app", "bench.lab.variants:per_request_metrics"],
    },
}


def run(group: str, rounds: int, duration: int, workdir: Path, db_url: str, upstream: str) -> str:
    """Start the group's variants, alternate wrk over them, stop them; the summary table."""
    procs, targets = [], {}
    try:
        for name, options in GROUPS[group].items():
            port = free_port()
            log = workdir / f"{group}-{port}.log"
            procs.append(start_gateway(port, upstream, db_url, log, argv=[*SERVE, *options]))
            targets[name] = Target(f"http://127.0.0.1:{port}{PATH}", procs[-1].pid)
        series = alternate(targets, rounds, duration)
    finally:
        for proc in procs:
            stop(proc)
    first = next(iter(GROUPS[group]))
    return f"{group}: wrk -t1 -c32 -d{duration}s, {rounds} alternating rounds, median\n" + summarise(series, first)


def main(argv: list[str] | None = None) -> None:
    """Run the named groups (all by default) and print one table each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", default=list(GROUPS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8)
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
            print(run(group, args.rounds, args.duration, workdir, db_url, f"http://127.0.0.1:{nginx_port}"),
                  flush=True)
    finally:
        stop(nginx)


if __name__ == "__main__":
    main()
