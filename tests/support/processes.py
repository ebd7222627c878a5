"""Start real application processes for tests, on free ports, and wait until they are healthy."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = ROOT / "test-artifacts" / "logs"


# Ports handed out by free_port() come from below the kernel's ephemeral range (Linux:
# 32768-60999), so an outgoing connection of any process can never take one between the
# check and the child's bind; the set keeps one session from handing out a port twice.
_PORT_RANGE = (20000, 32000)
_handed_out: set[int] = set()
_port_lock = threading.Lock()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, never handed out before in this session."""
    with _port_lock:
        for _ in range(1000):
            port = random.randrange(*_PORT_RANGE)  # spreads sessions apart; not a secret
            if port in _handed_out or not _bindable(port):
                continue
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free port in {_PORT_RANGE}")


def free_port_pair() -> int:
    """A port ``p`` with ``p`` and ``p + 1`` free (a Kafka broker and its KRaft controller)."""
    with _port_lock:
        for _ in range(1000):
            port = random.randrange(*_PORT_RANGE)  # spreads sessions apart; not a secret
            if port in _handed_out or port + 1 in _handed_out:
                continue
            if _bindable(port) and _bindable(port + 1):
                _handed_out.update((port, port + 1))
                return port
    raise RuntimeError(f"no free port pair in {_PORT_RANGE}")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class GiveUp(AssertionError):
    """Raised by a :func:`wait_until` predicate when waiting longer cannot help (a process exited)."""


def wait_until(predicate, *, timeout: float = 20.0, interval: float = 0.05, message: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value or the deadline passes (then fail).

    Exceptions from ``predicate`` mean "not yet" — except :class:`GiveUp`, which fails at once.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except GiveUp:
            raise
        except Exception as exc:  # the condition may raise until the system is ready
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last error: {last_error})")


@dataclass
class RunningProcess:
    """A started process and where it listens."""

    name: str
    popen: subprocess.Popen
    port: int | None
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        """Stop the process group (gunicorn/uvicorn workers included)."""
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            return
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)


def start_process(name: str, module: str, *, env: Mapping[str, str] | None = None, port: int | None = None,
                  health_path: str | None = "/health", timeout: float = 30.0,
                  args: tuple[str, ...] = ()) -> RunningProcess:
    """Start ``python -m module`` with ``PORT`` set and wait for ``health_path`` to answer 200."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"{name}-{port or 'noport'}.log"
    full_env = {**os.environ, **(env or {})}
    if port is not None:
        full_env["PORT"] = str(port)
    full_env.setdefault("WEB_WORKERS", "1")
    log = log_path.open("ab")
    popen = subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT, env=full_env, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
    proc = RunningProcess(name, popen, port, log_path)
    if port is not None and health_path is not None:
        def healthy() -> bool:
            if popen.poll() is not None:
                raise GiveUp(f"{name} exited with {popen.returncode}; log: {log_path}")
            return httpx.get(f"{proc.url}{health_path}", timeout=1).status_code == 200

        try:
            wait_until(healthy, timeout=timeout, interval=0.1, message=f"{name} health")
        except BaseException:
            proc.stop()
            raise
    return proc


@contextmanager
def running(name: str, module: str, **kwargs) -> Iterator[RunningProcess]:
    """Context manager around :func:`start_process` that always stops the process."""
    proc = start_process(name, module, **kwargs)
    try:
        yield proc
    finally:
        proc.stop()
