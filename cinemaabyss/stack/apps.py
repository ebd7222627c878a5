"""Start, check and stop the application processes of :mod:`cinemaabyss.stack.processes`."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import httpx

from cinemaabyss.stack.errors import StackError
from cinemaabyss.stack.paths import StackPaths, project_root
from cinemaabyss.stack.processes import PROCESSES, AppProcess
from cinemaabyss.stack.procs import PidFile, ensure_port_free, start_detached, stop_group, wait_ready
from cinemaabyss.stack.sysenv import child_env
from kernel.settings import Settings

HEALTH_TIMEOUT_S = 45
# a port-less process counts as started when it is still alive after this long
SETTLE_S = 2.0


@dataclass
class AppRunner:
    """Runs the registered application processes of one checkout."""

    paths: StackPaths
    settings: Settings

    def pid_file(self, process: AppProcess) -> PidFile:
        return PidFile(self.paths.pid(process.name))

    def url(self, process: AppProcess) -> str | None:
        """Base URL of an HTTP process."""
        port = process.port(self.settings)
        return None if port is None else f"http://127.0.0.1:{port}"

    def healthy(self, process: AppProcess) -> bool:
        """HTTP processes: the health path answers 2xx; others: the recorded process is alive."""
        if process.health_path is None:
            return self.pid_file(process).live_pid() is not None
        try:
            response = httpx.get(f"{self.url(process)}{process.health_path}", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.is_success

    def start(self, process: AppProcess) -> bool:
        """Start ``process`` unless ours already runs; wait until healthy. True if it was started."""
        pid_file = self.pid_file(process)
        log = self.paths.log(process.name)
        started = False
        if pid_file.live_pid() is None:
            port = process.port(self.settings)
            if port is not None:
                ensure_port_free(process.name, port)
            extra = {"PORT": str(port)} if port is not None else {}
            start_detached(
                [sys.executable, "-m", process.module],
                log=log,
                pid_file=pid_file,
                env=child_env(extra),
                cwd=project_root(),
            )
            started = True
        alive = lambda: pid_file.live_pid() is not None  # noqa: E731
        if process.health_path is None:
            if started:
                time.sleep(SETTLE_S)  # no readiness signal exists: survive a short settle period
            if not alive():
                raise StackError(f"{process.name} exited during start-up; log: {log}")
        else:
            wait_ready(process.name, lambda: self.healthy(process), HEALTH_TIMEOUT_S, log, alive)
        return started

    def stop_all(self) -> list[str]:
        """Stop our recorded processes in reverse start order; returns the names stopped."""
        return [p.name for p in reversed(PROCESSES) if stop_group(self.pid_file(p))]
