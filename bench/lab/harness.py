"""Shared pieces of the proxy benchmarks: nginx upstream, Go proxies, wrk, a bench database.

Every process is started in its own session and stopped by its process group; nothing is
left running. Measurements on a shared machine are noisy, so callers alternate targets
within one run and repeat rounds (:func:`alternate`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.processes import free_port, wait_until  # noqa: E402

PATH = "/api/movies"
#: ~1 KB of JSON, the size of a short movie list page.
BODY = (b'[' + b",".join(b'{"id": %d, "title": "Movie %03d", "description": "A classic film", '
                         b'"genres": ["Drama"], "rating": 8.8}' % (i, i) for i in range(10)) + b']')
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}

__all__ = [
    "BODY",
    "PATH",
    "ROOT",
    "Result",
    "Series",
    "Target",
    "alternate",
    "bench_database",
    "build_go",
    "cpu_seconds",
    "free_port",
    "ready",
    "spawn",
    "start_gateway",
    "start_nginx",
    "stop",
    "summarise",
    "wait_until",
    "wrk",
]


def spawn(argv: list[str], env: Mapping[str, str] | None = None, log: Path | None = None,
          cwd: Path = ROOT) -> subprocess.Popen:
    """Start ``argv`` in a new session (so :func:`stop` can signal its whole group)."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - owned by the child
    return subprocess.Popen(argv, cwd=cwd, env={**os.environ, **(env or {})}, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM the process group, SIGKILL it after 10 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def ready(url: str, timeout: float = 60) -> None:
    """Wait until ``url`` answers 200."""
    wait_until(lambda: httpx.get(url, timeout=1).status_code == 200, timeout=timeout, interval=0.1, message=url)


def start_nginx(workdir: Path, port: int) -> subprocess.Popen:
    """nginx (one worker process) serving :data:`BODY` at every path."""
    (workdir / "www").mkdir(exist_ok=True)
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
    scratch.mkdir(exist_ok=True)
    proc = spawn([shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(workdir), "-c", str(conf)])
    ready(f"http://127.0.0.1:{port}{PATH}")
    return proc


def build_go() -> Path:
    """Build the Go yardsticks (``bench/go``: the reverse proxy and the paced load generator)."""
    out = ROOT / "bench" / "bin"
    out.mkdir(exist_ok=True)
    subprocess.run(["go", "build", "-o", str(out / "goproxy"), "."], cwd=ROOT / "bench" / "go", check=True)
    subprocess.run(["go", "build", "-o", str(out / "goload"), "./load"], cwd=ROOT / "bench" / "go", check=True)
    return out / "goproxy"


def start_goproxy(goproxy: Path, port: int, upstream: str, transport: str) -> subprocess.Popen:
    """The Go yardstick (``bench/go``) on ``port`` in front of ``upstream``; ``transport`` is
    ``default`` or ``tuned``."""
    proc = spawn([str(goproxy), "-listen", f"127.0.0.1:{port}", "-target", upstream, "-transport", transport])
    ready(f"http://127.0.0.1:{port}{PATH}")
    return proc


def paced(goload: Path, url: str, rate: int, seconds: int,
          headers: Mapping[str, str] | None = None) -> dict[str, float]:
    """Latency percentiles (ms) and errors of GETs sent open-loop at ``rate``/s (``bench/go/load``)."""
    extra = [arg for name, value in (headers or {}).items() for arg in ("-header", f"{name}: {value}")]
    out = subprocess.run([str(goload), "-url", url, "-rate", str(rate), "-duration", f"{seconds}s", *extra],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def bench_database() -> str:
    """``<configured database>_bench``: created, migrated, movies flag gradual 50% sticky by client.

    Dropped and re-created when migrating it fails (a revision edited in place during development).
    """
    import psycopg
    from alembic import command
    from sqlalchemy.engine import make_url

    from cinemaabyss.commands.db import alembic_config
    from kernel.settings import load_settings
    from strangler import flags

    url = make_url(load_settings().database_url)
    name = f"{url.database}_bench"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    bench_url = url.set(database=name).render_as_string(hide_password=False)
    for attempt in (1, 2):
        with psycopg.connect(admin, autocommit=True) as conn:
            if attempt == 2:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
        config = alembic_config(bench_url)
        config.attributes["configure_logging"] = False
        try:
            command.upgrade(config, "head")
            flags.set_flag("movies", {"mode": "gradual", "percent": 50, "sticky_key": "client"}, "bench",
                           url=bench_url)
            return bench_url
        except Exception:  # schema of an in-place edited revision: start from scratch once
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def start_gateway(port: int, upstream: str, db_url: str, log: Path, *, workers: int = 2,
                  argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> subprocess.Popen:
    """The gateway (``python -m proxy`` unless ``argv``) with monolith and movies service at ``upstream``."""
    base = {"PORT": str(port), "WEB_WORKERS": str(workers), "MONOLITH_URL": upstream,
            "MOVIES_SERVICE_URL": upstream, "DATABASE_URL": db_url, "LOG_LEVEL": "WARNING"}
    env = dict(env or {})
    if "JWT_PUBLIC_KEY_PATH" not in env:  # the health details need an operator's token
        env["JWT_PUBLIC_KEY_PATH"], _ = token_setup(log.parent)
    operator = operator_headers(env["JWT_PUBLIC_KEY_PATH"])
    proc = spawn(argv or [sys.executable, "-m", "proxy"], {**base, **env}, log)
    try:
        ready(f"http://127.0.0.1:{port}/health")
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/health", headers=operator)
                   .json()["flags"]["movies"]["mode"] == "gradual", timeout=20)
    except AssertionError:
        stop(proc)
        raise AssertionError(f"gateway on {port} did not start; log: {log}\n{log.read_text()[-2000:]}") from None
    return proc


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pgid: int) -> float:
    """User + system CPU time of every live process in process group ``pgid`` (all threads)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # exited meanwhile
            continue
        if int(fields[2]) == pgid:  # fields after the command: state ppid pgrp … utime(11) stime(12)
            total += int(fields[11]) + int(fields[12])
    return total / _TICK


#: Private keys of the pairs :func:`token_setup` made, by public key path (for operator tokens).
_PRIVATE: dict[str, str] = {}


def token_setup(workdir: Path) -> tuple[str, str]:
    """A fresh Ed25519 key pair: ``(public key path for the gateway, an access token for user 42)``."""
    from kernel.tokens import generate_keys, issue_token

    private_pem, public_pem = generate_keys()
    public = workdir / "jwt.pub"
    public.write_text(public_pem)
    _PRIVATE[str(public)] = private_pem
    return str(public), issue_token(42, private_pem, 3600)


def operator_headers(public_key_path: str) -> dict[str, str]:
    """``Accept`` JSON and an admin token for a gateway verifying with ``public_key_path`` (the health
    document's details are for operators); only ``Accept`` for a key this harness did not make."""
    from kernel.tokens import issue_token

    headers = {"Accept": "application/json"}
    private_pem = _PRIVATE.get(public_key_path)
    if private_pem is not None:
        headers["Authorization"] = f"Bearer {issue_token(43, private_pem, 3600, role='admin')}"
    return headers


@dataclass
class Result:
    """One wrk run; ``cpu_us`` is the target's CPU time per request (0 when not measured)."""

    rps: float
    p50: float
    p99: float
    errors: float
    cpu_us: float = 0.0
    requests: float = 0.0


def wrk(url: str, duration: int, connections: int = 32, pgid: int | None = None,
        headers: Mapping[str, str] | None = None) -> Result:
    """req/s, p50 and p99 (ms) and non-2xx/socket errors from ``wrk -t1 -c<connections> --latency``;
    with ``pgid``, also that process group's CPU microseconds per request (robust to a busy machine,
    where req/s mostly measures the neighbours)."""
    before = cpu_seconds(pgid) if pgid else 0.0
    extra = [arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")]
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", *extra, url],
                         capture_output=True, text=True, check=True).stdout
    result = parse_wrk(out)
    if pgid and result.requests:
        result.cpu_us = (cpu_seconds(pgid) - before) / result.requests * 1e6
    return result


def parse_wrk(out: str) -> Result:
    """The figures of ``wrk --latency`` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * _UNITS[unit]

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (float(non2xx.group(1)) if non2xx else 0.0) + (sum(map(float, sock.groups())) if sock else 0.0)
    requests = float(re.search(r"(\d+) requests in", out).group(1))
    return Result(rps, pct("50"), pct("99"), errors, requests=requests)


@dataclass
class Series:
    """Every run of one target."""

    name: str
    runs: list[Result] = field(default_factory=list)

    @property
    def rps(self) -> float:
        """Median req/s over the rounds (robust to one disturbed run)."""
        return statistics.median(r.rps for r in self.runs)

    @property
    def cpu_us(self) -> float:
        """Median CPU microseconds per request."""
        return statistics.median(r.cpu_us for r in self.runs)

    def median(self, attr: str) -> float:
        """Median of one :class:`Result` field over the rounds."""
        return statistics.median(getattr(r, attr) for r in self.runs)


@dataclass(frozen=True)
class Target:
    """A URL to load and the process group whose CPU time it costs (``None``: not measured)."""

    url: str
    pgid: int | None = None
    headers: Mapping[str, str] | None = None


def alternate(targets: Mapping[str, Target], rounds: int, duration: int,
              on_round: Callable[[int], None] | None = None) -> dict[str, Series]:
    """wrk each target in turn, ``rounds`` times (after a 2 s warm-up of each)."""
    for target in targets.values():
        wrk(target.url, 2, headers=target.headers)
    series = {name: Series(name) for name in targets}
    for i in range(rounds):
        for name, target in targets.items():
            series[name].runs.append(wrk(target.url, duration, pgid=target.pgid, headers=target.headers))
        if on_round:
            on_round(i)
    return series


def summarise(series: Mapping[str, Series], baseline: str | None = None) -> str:
    """A text table: median req/s, p50/p99, CPU µs per request, ratios to ``baseline``, every run."""
    lines = []
    base = series[baseline] if baseline else None
    for s in series.values():
        ratio = ""
        if base is not None:
            ratio = f"  req/s {s.rps / base.rps:4.2f}x"
            if s.cpu_us and base.cpu_us:
                ratio += f"  cpu/req {s.cpu_us / base.cpu_us:4.2f}x"
        cpu = f"  cpu {s.cpu_us:5.0f} us/req" if s.cpu_us else ""
        lines.append(f"  {s.name:<38} {s.rps:>7.0f} req/s  p50 {s.median('p50'):6.2f} ms  "
                     f"p99 {s.median('p99'):6.2f} ms{cpu}{ratio}  "
                     f"(runs: {', '.join(format(r.rps, '.0f') for r in s.runs)}; "
                     f"errors {sum(r.errors for r in s.runs):.0f})")
    return "\n".join(lines)
