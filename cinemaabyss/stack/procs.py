"""Background processes we own: start detached, record, check, stop — by pid file only.

A pid file holds ``<pid> <start time>`` (the start time from ``/proc/<pid>/stat``), so a pid
the kernel reused for an unrelated process is never mistaken for ours and never signalled.
Every process runs in its own session (process group), so stopping it also stops its children.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cinemaabyss.stack.errors import StackError


def _start_time(pid: int) -> str | None:
    """Kernel start time of ``pid`` (clock ticks since boot), or None when it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may contain spaces: fields after it start past the last ")"
    rest = stat.rsplit(")", 1)[1].split()
    if rest[0] == "Z":  # a zombie has exited; only its parent's wait() is missing
        return None
    return rest[19]


@dataclass(frozen=True)
class PidFile:
    """The pid file of one named process."""

    path: Path

    def write(self, pid: int) -> None:
        """Record ``pid`` together with its start time."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(f"{pid} {_start_time(pid) or ''}\n")

    def live_pid(self) -> int | None:
        """The recorded pid if that very process is still running, else None (stale files are removed)."""
        try:
            fields = self.path.read_text().split()
            pid, started = int(fields[0]), fields[1] if len(fields) > 1 else None
        except (OSError, ValueError, IndexError):
            return None
        current = _start_time(pid)
        if current is None or (started is not None and current != started):
            self.remove()
            return None
        return pid

    def remove(self) -> None:
        """Forget the process."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def start_detached(
    argv: Sequence[str],
    *,
    log: Path,
    pid_file: PidFile,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start ``argv`` in a new session with stdout/stderr appended to ``log``; record its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,  # own process group: stop() reaches its children too
        )
    pid_file.write(proc.pid)
    return proc.pid


def stop_group(pid_file: PidFile, *, deadline_s: float = 20.0) -> bool:
    """SIGTERM the recorded process's group, SIGKILL it after ``deadline_s``; True if one was running."""
    pid = pid_file.live_pid()
    if pid is None:
        pid_file.remove()
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    if not wait_until(lambda: _start_time(pid) is None, deadline_s):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        wait_until(lambda: _start_time(pid) is None, 5.0)
    _reap(pid)
    pid_file.remove()
    return True


def _reap(pid: int) -> None:
    """Collect the exit status if the process was our own child (tests start and stop in one process)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def wait_until(predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.1) -> bool:
    """Poll ``predicate`` until it is true or ``timeout_s`` passed; returns its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


def wait_ready(
    service: str, predicate: Callable[[], bool], timeout_s: float, log: Path, alive: Callable[[], bool]
) -> None:
    """Wait for ``predicate``; raise the one-line readiness error on timeout or early death."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if not alive():
            raise StackError(f"{service} exited during start-up; log: {log}")
        if time.monotonic() >= deadline:
            raise StackError(f"{service} did not become ready within {timeout_s:g}s; log: {log}")
        time.sleep(0.2)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def port_holder(port: int) -> str:
    """Best-effort description of the process listening on ``port`` (for error messages)."""
    try:
        out = subprocess.run(
            ["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "another process"
    if "pid=" not in out:
        return "another process"
    # users:(("postgres",pid=123,fd=6))
    users = out.split("users:((", 1)[1]
    name = users.split('"')[1]
    pid = int(users.split("pid=", 1)[1].split(",", 1)[0])
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        cwd = "?"
    return f"{name} (pid {pid}, cwd {cwd})"


def ensure_port_free(service: str, port: int) -> None:
    """Raise the one-line 'port taken' error when a process that is not ours listens on ``port``."""
    if port_open(port):
        raise StackError(
            f"{service}: port {port} is already in use by {port_holder(port)}, not by this checkout's stack"
            " — stop it (another checkout: `make down` there) or configure another port"
        )
