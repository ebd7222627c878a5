"""A private PostgreSQL cluster for this checkout: initdb, pg_ctl start/stop, role and databases.

PostgreSQL refuses to run as root, so when we are root every server-side command runs as the
``postgres`` user (``runuser``). Its data directory must then be reachable by that user: it
is ``RUN_DIR/pg`` when possible, otherwise a per-checkout directory under ``/var/tmp`` (a CI
clone inside a root-only ``mktemp -d`` directory). The Unix socket lives inside the data
directory (mode 700), so only the cluster owner and root can use it; that is why local
socket connections may use ``trust`` and every TCP connection needs the generated password.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from cinemaabyss.stack.errors import StackError
from cinemaabyss.stack.paths import StackPaths, claim_private_dir
from cinemaabyss.stack.procs import ensure_port_free, port_open

PG_OS_USER = "postgres"
SUPERUSER = "postgres"
ROLE = "cinemaabyss"
DATABASES = ("cinemaabyss", "cinemaabyss_test")
START_TIMEOUT_S = 60


def bindir() -> Path:
    """Directory of the newest installed PostgreSQL server binaries (Debian layout first)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    raise StackError("PostgreSQL is not installed (no pg_ctl); run scripts/bootstrap.sh")


def _as_root() -> bool:
    return os.geteuid() == 0


def _owner_cmd(argv: list[str]) -> list[str]:
    """``argv`` run as the cluster owner: ``postgres`` when we are root, else ourselves."""
    return ["runuser", "-u", PG_OS_USER, "--", *argv] if _as_root() else argv


def _owner_can_reach(directory: Path) -> bool:
    """Whether the cluster owner can traverse to ``directory`` (it cannot inside a mode-700 root dir)."""
    if not _as_root():
        return True
    result = subprocess.run(_owner_cmd(["test", "-x", str(directory)]), check=False)
    return result.returncode == 0


@dataclass
class Postgres:
    """This checkout's cluster, listening on ``127.0.0.1:<port>``."""

    paths: StackPaths
    port: int

    @property
    def base(self) -> Path:
        """Directory holding ``data/`` and the server log: in RUN_DIR when the owner can reach it."""
        inside = self.paths.run / "pg"
        outside = self.paths.outside_dir / "pg"
        if (inside / "data" / "PG_VERSION").exists():
            return inside
        if (outside / "data" / "PG_VERSION").exists():
            return outside
        return inside if _owner_can_reach(self.paths.run) else outside

    @property
    def log(self) -> Path:
        """The server log (linked as ``RUN_DIR/logs/postgres.log`` when it lives outside)."""
        return self.paths.log("postgres")

    def _data(self) -> Path:
        return self.base / "data"

    def _prepare_dirs(self) -> tuple[Path, Path]:
        """Create the base dir owned by the cluster owner; return (data dir, real log file)."""
        base = self.base
        if base.parent == self.paths.outside_dir:
            claim_private_dir(base.parent)
        base.mkdir(parents=True, exist_ok=True)
        real_log = base / "postgres.log"
        real_log.touch(exist_ok=True)
        if _as_root():
            owner = pwd.getpwnam(PG_OS_USER)
            for path in (base, real_log):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        base.chmod(0o700)
        if self.log != real_log:
            # one place to look for every log, wherever the data had to live
            with contextlib.suppress(FileNotFoundError):
                self.log.unlink()
            self.log.symlink_to(real_log)
        return base / "data", real_log

    def running_pid(self) -> int | None:
        """Postmaster pid when our cluster runs (``postmaster.pid`` names a live process)."""
        pidfile = self._data() / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
        except OSError:
            return None
        result = subprocess.run(
            _owner_cmd([str(bindir() / "pg_ctl"), "status", "-D", str(self._data())]),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            return None
        pid = int(lines[0])
        port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None
        if port is not None and port != self.port:
            raise StackError(
                f"postgresql: our cluster runs on port {port} but DATABASE_URL says {self.port}; run `make down` first"
            )
        return pid

    def start(self) -> None:
        """initdb on first use, then start (a no-op when already running)."""
        if self.running_pid() is not None:
            return
        ensure_port_free("postgresql", self.port)
        data, real_log = self._prepare_dirs()
        pg = bindir()
        if not (data / "PG_VERSION").exists():
            self._run_owner(
                [
                    str(pg / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    SUPERUSER,
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--no-instructions",
                ],
                "initdb",
                real_log,
            )
        options = f"-p {self.port} -k {data} -c listen_addresses=127.0.0.1"
        result = subprocess.run(
            _owner_cmd(
                [
                    str(pg / "pg_ctl"),
                    "start",
                    "-D",
                    str(data),
                    "-l",
                    str(real_log),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    str(START_TIMEOUT_S),
                ]
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            if "timeout" in (result.stdout + result.stderr).lower() or "did not" in result.stdout:
                raise StackError(f"postgresql did not become ready within {START_TIMEOUT_S:g}s; log: {self.log}")
            raise StackError(f"postgresql failed to start; log: {self.log}")

    def _run_owner(self, argv: list[str], what: str, log: Path) -> None:
        with log.open("a") as out:
            result = subprocess.run(_owner_cmd(argv), stdout=out, stderr=subprocess.STDOUT, check=False)
        if result.returncode != 0:
            raise StackError(f"postgresql {what} failed; log: {self.log}")

    def connect_superuser(self) -> psycopg.Connection:
        """Autocommit superuser connection over the private Unix socket."""
        return psycopg.connect(
            host=str(self._data()), port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        )

    def ensure_role_and_databases(self, password: str) -> None:
        """Create (or re-password) the app role and create its databases; idempotent."""
        with self.connect_superuser() as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL(verb + " ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                    sql.Identifier(ROLE), sql.Literal(password)
                )
            )
            for db in DATABASES:
                if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone():
                    conn.execute(
                        sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db), sql.Identifier(ROLE))
                    )

    def ready(self) -> bool:
        """The server accepts TCP connections on its port."""
        return port_open(self.port)

    def stop(self) -> bool:
        """``pg_ctl stop -m fast``; True if it was running."""
        if self.running_pid() is None:
            return False
        result = subprocess.run(
            _owner_cmd([str(bindir() / "pg_ctl"), "stop", "-D", str(self._data()), "-m", "fast", "-w", "-t", "60"]),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(f"postgresql did not stop: {result.stderr.strip() or result.stdout.strip()}")
        return True

    def purge(self) -> None:
        """Remove the data directory (``make clean``); the cluster must be stopped."""
        for base in (self.paths.run / "pg", self.paths.outside_dir):
            shutil.rmtree(base, ignore_errors=True)


def port_from_url(url: str, default: int) -> int:
    """Port of a ``scheme://[user[:pw]@]host[:port][/...]`` URL."""
    match = re.match(r"^[^:]+://(?:[^@/]*@)?(\[[^\]]*\]|[^:/?]*)(?::(\d+))?", url)
    return int(match.group(2)) if match and match.group(2) else default
