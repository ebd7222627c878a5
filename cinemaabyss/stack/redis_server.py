"""Redis as a background ``redis-server`` on 127.0.0.1: no persistence, data dir in RUN_DIR."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import redis

from cinemaabyss.stack.errors import StackError
from cinemaabyss.stack.paths import StackPaths
from cinemaabyss.stack.procs import PidFile, ensure_port_free, start_detached, stop_group, wait_ready

NAME = "redis"
START_TIMEOUT_S = 20


@dataclass
class Redis:
    """This checkout's redis-server."""

    paths: StackPaths
    port: int

    @property
    def pid_file(self) -> PidFile:
        return PidFile(self.paths.pid(NAME))

    @property
    def log(self):
        return self.paths.log(NAME)

    def ready(self) -> bool:
        """Answers PING."""
        try:
            return bool(redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        """Start unless our recorded process is running; wait until it answers PING."""
        if self.pid_file.live_pid() is None:
            ensure_port_free(NAME, self.port)
            binary = shutil.which("redis-server")
            if binary is None:
                raise StackError("redis-server is not installed; run scripts/bootstrap.sh")
            data = self.paths.run / "redis"
            data.mkdir(parents=True, exist_ok=True)
            start_detached(
                [
                    binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(data),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--protected-mode",
                    "yes",
                ],
                log=self.log,
                pid_file=self.pid_file,
            )
        wait_ready(NAME, self.ready, START_TIMEOUT_S, self.log, lambda: self.pid_file.live_pid() is not None)

    def stop(self) -> bool:
        """Stop our process (by pid file)."""
        return stop_group(self.pid_file)
