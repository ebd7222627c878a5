"""Where the gateway's time goes per request: thread CPU split plus a py-spy flame graph.

Starts nginx and ``python -m proxy`` (2 workers, the benchmark's gradual 50% movies flag,
``PROXY_AUTH_MODE=all`` with a real token on every request), puts wrk load on it and

1. reads every worker thread's CPU time (``/proc``) before and after: the worker's main
   thread runs the Python event loop (RSGI adapter, gateway, client calls, metrics), the other
   threads are Rust runtimes: granian's (client sockets, HTTP parsing and writing) and
   pyreqwest's tokio (upstream connections) — CPU µs per request
   for each side, plus nginx's for scale;
2. records the workers with py-spy (flame graph ``bench/profiles/<name>.svg``) and a second
   time as folded stacks (``<name>.folded``), and books each sample to the innermost frame that belongs to a
   known part: server interface, header handling, routing, auth, client, metrics, gateway core,
   event loop.

    .venv/bin/pip install py-spy
    .venv/bin/python -m bench.lab.profile [--duration 20] [--name gateway]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

from bench.lab.harness import (
    PATH,
    ROOT,
    bench_database,
    free_port,
    start_gateway,
    start_nginx,
    stop,
    token_setup,
    wrk,
)

PROFILES = ROOT / "bench" / "profiles"
_TICK_US = 1e6 / __import__("os").sysconf("SC_CLK_TCK")

#: (part, pattern on a folded frame ``function (file:line)``), checked from the leaf upwards.
PARTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("metrics", re.compile(r"prometheus_client/|proxy/metrics\.py")),
    ("header handling", re.compile(r"^(upstream_headers|client_headers|_without_listed|has_body|"
                                   r"header|_request_id) \(proxy/")),
    ("canonical path", re.compile(r"proxy/target\.py")),
    ("intake (body, limits)", re.compile(r"proxy/intake\.py")),
    ("routing", re.compile(r"proxy/(routing|bucketing|rollback|flagcache)\.py|mmh3")),
    ("retry, idempotency", re.compile(r"proxy/(retry|idempotency|failures)\.py")),
    ("auth", re.compile(r"proxy/(auth|policy|revocations)\.py|jwt/|kernel/tokens")),
    ("client (pyreqwest)", re.compile(r"pyreqwest/|aiohttp/|yarl/|multidict/|proxy/forward\.py")),
    # a leaf in the adapter is a call into granian (response_bytes, body reads): the interface
    ("server interface", re.compile(r"proxy/(rsgi|app)\.py|granian/_futures\.py")),
    ("gateway core", re.compile(r"proxy/gateway\.py")),
    # the worker's loop itself: uvloop's C code (I/O callbacks, task steps) has no Python frame
    ("event loop", re.compile(r"asyncio/|uvloop|rloop|_spawn_rsgi_worker|run_forever|run_until_complete")),
)
_PROCESS = re.compile(r"^process \d+:")


def part_of(stack: list[str]) -> str | None:
    """The part a worker sample belongs to (first known frame from the leaf up; else ``other``).

    ``None`` for samples that are not a worker's Python thread: the supervising main process,
    and granian's Rust threads (no Python frame; py-spy cannot tell their idle waits from work,
    so their CPU comes from ``/proc`` instead).
    """
    if len(stack) < 3 or not _PROCESS.match(stack[1]) or _PROCESS.match(stack[-1]):
        return None
    for frame in reversed(stack):
        for part, pattern in PARTS:
            if pattern.search(frame):
                return part
    return "other"


def book(folded: str) -> Counter[str]:
    """Samples per part from py-spy's folded (``raw``) output of ``--subprocesses``."""
    parts: Counter[str] = Counter()
    for line in folded.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            part = part_of(stack.split(";"))
            if part is not None:
                parts[part] += int(count)
    return parts


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def thread_ticks(pid: int) -> tuple[int, int]:
    """(main thread, other threads) CPU clock ticks of process ``pid``."""
    main = other = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rpartition(")")[2].split()
        ticks = int(fields[11]) + int(fields[12])
        if int(task.name) == pid:
            main += ticks
        else:
            other += ticks
    return main, other


def split(workers: list[int], nginx: int, url: str, duration: int, headers: dict[str, str]) -> str:
    """CPU µs per request of the workers' Python thread, their Rust threads and nginx."""
    before = [thread_ticks(w) for w in workers], thread_ticks(nginx)
    result = wrk(url, duration, headers=headers)
    after = [thread_ticks(w) for w in workers], thread_ticks(nginx)
    requests = result.rps * duration
    py = sum(a[0] - b[0] for a, b in zip(after[0], before[0], strict=True)) * _TICK_US / requests
    rust = sum(a[1] - b[1] for a, b in zip(after[0], before[0], strict=True)) * _TICK_US / requests
    ngx = sum(after[1]) - sum(before[1])
    return (f"CPU per request under wrk -t1 -c32 -d{duration}s ({result.rps:.0f} req/s, p99 {result.p99:.1f} ms): "
            f"gateway Python thread {py:.0f} us, Rust threads (granian, pyreqwest) {rust:.0f} us, "
            f"nginx {ngx * _TICK_US / requests:.0f} us")


def record(pid: int, url: str, duration: int, out: Path, fmt: str, headers: dict[str, str]) -> None:
    """py-spy the process tree of ``pid`` while wrk loads ``url``."""
    load = threading.Thread(target=wrk, args=(url, duration + 4), kwargs={"headers": headers})
    load.start()
    subprocess.run([shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy"), "record",
                    "--subprocesses", "--rate", "100", "--duration", str(duration), "--format", fmt,
                    "--output", str(out), "--pid", str(pid)], check=True, capture_output=True)
    load.join()
    # The recording names the checkout's absolute paths; keep the committed profile machine-neutral.
    out.write_text(out.read_text().replace(f"{ROOT}/", ""))


def main(argv: list[str] | None = None) -> None:
    """Profile and print the breakdown; the flame graph goes to ``bench/profiles/<name>.svg``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--name", default="gateway")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="proxy-profile-"))
    nginx_port, gw_port = free_port(), free_port()
    nginx = start_nginx(workdir, nginx_port)
    gateway = None
    try:
        public_key, token = token_setup(workdir)
        auth = {"Authorization": f"Bearer {token}"}
        gateway = start_gateway(gw_port, f"http://127.0.0.1:{nginx_port}", bench_database(), workdir / "gw.log",
                                env={"JWT_PUBLIC_KEY_PATH": public_key, "PROXY_AUTH_MODE": "all"})
        url = f"http://127.0.0.1:{gw_port}{PATH}"
        wrk(url, 3, headers=auth)
        print(split(_children(gateway.pid), nginx.pid, url, args.duration, auth))
        PROFILES.mkdir(exist_ok=True)
        svg = PROFILES / f"{args.name}.svg"
        record(gateway.pid, url, args.duration, svg, "flamegraph", auth)
        folded = PROFILES / f"{args.name}.folded"
        record(gateway.pid, url, args.duration, folded, "raw", auth)
        parts = book(folded.read_text())
        total = sum(parts.values())
        print(f"py-spy samples of the Python threads ({total}), booked to the innermost known frame:")
        for part, n in parts.most_common():
            print(f"  {part:<18} {100 * n / total:5.1f}%")
        print(f"flame graph: {svg.relative_to(ROOT)}; folded stacks: {folded.relative_to(ROOT)}")
    finally:
        if gateway is not None:
            stop(gateway)
        stop(nginx)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
