"""``stack up | infra-up | down | status``: the order of things and the one-line reporting.

Infrastructure (PostgreSQL, Redis, Kafka) starts in parallel — Kafka's JVM dominates, so the
others finish meanwhile. Every step is idempotent: what already runs (recorded pid alive and
healthy) is left alone, so a second ``up`` changes nothing.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from cinemaabyss.stack.apps import AppRunner
from cinemaabyss.stack.envfile import read_env_file, write_env_file
from cinemaabyss.stack.errors import StackError
from cinemaabyss.stack.kafka_broker import Kafka
from cinemaabyss.stack.paths import StackPaths, project_root
from cinemaabyss.stack.postgres import DATABASES, ROLE, Postgres, port_from_url
from cinemaabyss.stack.processes import PROCESSES
from cinemaabyss.stack.redis_server import Redis
from kernel.settings import Settings

Say = Callable[[str], None]


@dataclass
class Stack:
    """One checkout's local stack."""

    settings: Settings
    say: Say = print

    def __post_init__(self) -> None:
        self.paths = StackPaths.from_settings(self.settings)
        self.postgres = Postgres(self.paths, port_from_url(self.settings.database_url, 5432))
        self.redis = Redis(self.paths, port_from_url(self.settings.redis_url, 6379))
        first_broker = self.settings.kafka_brokers.split(",")[0].strip()
        self.kafka = Kafka(self.paths, port_from_url(f"kafka://{first_broker}", 9092))
        self.apps = AppRunner(self.paths, self.settings)

    # ----- infrastructure -------------------------------------------------------------------
    def _timed(self, name: str, action: Callable[[], None]) -> None:
        started = time.monotonic()
        action()
        self.say(f"  {name:<{NAME_WIDTH - 1}} ready ({time.monotonic() - started:.1f}s)")

    def _database_password(self) -> str:
        """The app role's password: the configured one (``.env`` or ``stack.env``), else a new one.

        Settings already layer ``stack.env`` under ``.env``, so the password generated on the
        first start is kept, and a developer who sets their own ``DATABASE_URL`` (another port,
        say) with a password of their choice gets the role set to that password.
        """
        password = urlsplit(self.settings.database_url).password
        return unquote(password) if password else secrets.token_urlsafe(24)

    def _write_env(self, password: str) -> None:
        """``stack.env``: the URLs with the generated password (the settings module reads it)."""
        base = f"postgresql+psycopg://{ROLE}:{password}@127.0.0.1:{self.postgres.port}"
        values = read_env_file(self.paths.env_file)
        values.update({"DATABASE_URL": f"{base}/{DATABASES[0]}", "TEST_DATABASE_URL": f"{base}/{DATABASES[1]}"})
        write_env_file(self.paths.env_file, values)

    def infra_up(self) -> None:
        """PostgreSQL, Redis, Kafka (+ topics, role, databases, stack.env), then ``migrate``."""
        self.paths.ensure()
        self.say("infrastructure:")
        password = self._database_password()

        def postgres() -> None:
            self.postgres.start()
            self.postgres.ensure_role_and_databases(password)
            self._write_env(password)

        jobs = {"postgresql": postgres, "redis": self.redis.start, "kafka": self.kafka.start}
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            futures = [pool.submit(self._timed, name, job) for name, job in jobs.items()]
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            raise errors[0]  # each already carries its one-line message
        created = self.kafka.ensure_topics()
        if created:
            self.say(f"  kafka topics created: {', '.join(created)}")
        self.run_cli("migrate")

    # ----- one-shot CLI steps -----------------------------------------------------------------
    def run_cli(self, name: str) -> bool:
        """Run ``cinemaabyss <name>`` as a subprocess; a failure stops the stack with one line."""
        script = Path(sys.executable).parent / "cinemaabyss"
        argv = [str(script), name] if script.exists() else [sys.executable, "-m", "cinemaabyss.cli", name]
        self.say(f"  running `cinemaabyss {name}`")
        result = subprocess.run(argv, cwd=project_root(), check=False)
        if result.returncode != 0:
            raise StackError(f"`cinemaabyss {name}` failed (exit {result.returncode}); see its output above")
        return True

    # ----- whole stack ------------------------------------------------------------------------
    def up(self) -> None:
        """Infrastructure, migrate, seed, first admin, every app process; print URLs."""
        self.infra_up()
        self.run_cli("seed")
        self.run_cli("ensure-admin")
        self.say("applications:")
        for process in PROCESSES:
            started = time.monotonic()
            was_started = self.apps.start(process)
            state = f"started ({time.monotonic() - started:.1f}s)" if was_started else "already running"
            self.say(f"  {process.name:<{NAME_WIDTH - 1}} {state}")
        self.say(self.format_table())

    def down(self) -> list[str]:
        """Stop everything we recorded: applications first, then Kafka, Redis, PostgreSQL."""
        stopped = self.apps.stop_all()
        for name, service in (("kafka", self.kafka), ("redis", self.redis), ("postgresql", self.postgres)):
            if service.stop():
                stopped.append(name)
        self.say(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
        return stopped

    def clean(self) -> None:
        """``down`` and remove every data directory (RUN_DIR and the PostgreSQL fallback dir)."""
        self.down()
        self.postgres.purge()
        shutil.rmtree(self.paths.run, ignore_errors=True)
        self.say(f"removed {self.paths.run}")

    def status(self) -> list[tuple[str, str, str]]:
        """``(name, state, address)`` rows; state is ``up``, ``down`` or ``starting``."""
        pg_pid = self.postgres.running_pid()
        rows = [
            ("postgresql", _state(pg_pid is not None, self.postgres.ready), f"127.0.0.1:{self.postgres.port}"),
            (
                "redis",
                _state(self.redis.pid_file.live_pid() is not None, self.redis.ready),
                f"127.0.0.1:{self.redis.port}",
            ),
            ("kafka", _state(self.kafka.pid_file.live_pid() is not None, self.kafka.ready), self.kafka.bootstrap),
        ]
        for process in PROCESSES:
            url = self.apps.url(process) or "-"
            alive = self.apps.pid_file(process).live_pid() is not None
            rows.append((process.name, _state(alive, lambda p=process: self.apps.healthy(p)), url))
        return rows

    def format_table(self) -> str:
        """The status rows as an aligned text table."""
        w = NAME_WIDTH
        lines = [f"{'service':<{w}} {'state':<10} address", f"{'-' * w} {'-' * 10} {'-' * 30}"]
        lines += [f"{name:<{w}} {state:<10} {address}" for name, state, address in self.status()]
        return "\n".join(lines)

#: the name column of the tables printed by up/status: wide enough for every process name
NAME_WIDTH = max(len(p.name) for p in PROCESSES) + 1



def _state(alive: bool, healthy: Callable[[], bool]) -> str:
    if not alive:
        return "down"
    return "up" if healthy() else "starting"
