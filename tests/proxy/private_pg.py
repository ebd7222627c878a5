"""A throw-away PostgreSQL cluster on a free port, for tests that stop the database.

The shared test database must never be stopped; tests that prove the proxy survives a
database outage start one of these instead. As root the cluster runs as ``postgres``
(PostgreSQL refuses root).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path


def _bin(name: str) -> str:
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    found = str(candidates[0]) if candidates else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found")
    return found


def _as_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


class PrivatePostgres:
    """initdb + pg_ctl start/stop on ``127.0.0.1:<port>`` with trust auth."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.base = Path(tempfile.mkdtemp(prefix="proxy-pg-"))
        self.data = self.base / "data"
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.base, owner.pw_uid, owner.pw_gid)
        subprocess.run(_as_owner([_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                                  "--no-instructions", "-E", "UTF8"]), check=True, capture_output=True)

    @property
    def url(self) -> str:
        """SQLAlchemy URL of its ``postgres`` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        subprocess.run(_as_owner([_bin("pg_ctl"), "start", "-D", str(self.data), "-w", "-t", "30",
                                  "-l", str(self.base / "log"),
                                  "-o", f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"]),
                       check=True, capture_output=True)

    def stop(self, mode: str = "immediate") -> None:
        """Stop (immediate by default: like a crash, connections drop at once)."""
        subprocess.run(_as_owner([_bin("pg_ctl"), "stop", "-D", str(self.data), "-m", mode, "-w"]),
                       check=False, capture_output=True)

    def destroy(self) -> None:
        """Stop and delete the cluster."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
