"""Where the stack keeps its files: all derived from ``RUN_DIR``."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cinemaabyss.stack.errors import StackError
from kernel.settings import PROJECT_ROOT, Settings


@dataclass(frozen=True)
class StackPaths:
    """Paths of one checkout's stack (one ``RUN_DIR``)."""

    run: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> StackPaths:
        """Paths for ``settings.run_dir`` (made absolute: child processes may change directory)."""
        return cls(Path(settings.run_dir).resolve())

    @property
    def logs(self) -> Path:
        return self.run / "logs"

    @property
    def pids(self) -> Path:
        return self.run / "pids"

    @property
    def env_file(self) -> Path:
        return self.run / "stack.env"

    def log(self, name: str) -> Path:
        """Log file of process ``name``."""
        return self.logs / f"{name}.log"

    def pid(self, name: str) -> Path:
        """Pid file of process ``name``."""
        return self.pids / f"{name}.pid"

    def ensure(self) -> None:
        """Create the run, log and pid directories."""
        for path in (self.run, self.logs, self.pids):
            path.mkdir(parents=True, exist_ok=True)

    @property
    def outside_dir(self) -> Path:
        """A per-checkout directory outside the project, for data the ``postgres`` user must reach.

        A checkout inside a root-only directory (CI clones into ``mktemp -d``, mode 700) cannot
        host PostgreSQL's data directory; the short hash keeps two checkouts apart. The name is
        predictable, so :func:`claim_private_dir` checks ownership before anything is put there.
        """
        digest = hashlib.sha256(str(self.run).encode()).hexdigest()[:10]
        return Path("/var/tmp") / f"cinemaabyss-{digest}"  # noqa: S108 -- owner checked on use


def project_root() -> Path:
    """The checkout this code runs from."""
    return PROJECT_ROOT


def claim_private_dir(path: Path, mode: int = 0o711) -> None:
    """Create ``path`` (or accept it) only if it is a real directory owned by us — never a planted link.

    ``mode`` 711 lets the ``postgres`` user traverse to its own subdirectory without listing ours.
    """
    path.mkdir(mode=mode, exist_ok=True)
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise StackError(f"{path} exists but is not a directory owned by us; remove it and retry")
    path.chmod(mode)
