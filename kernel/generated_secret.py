"""Secrets generated on first start: no default secret is ever committed or shipped.

A process reads its secret from the setting when one is configured; otherwise every process
of the same checkout shares one generated into ``RUN_DIR/<name>`` (mode 600). Creation uses
``O_EXCL``, so processes starting at once agree: the one that loses the race reads the
winner's secret once it has been written.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def configured_or_generated(configured: str, run_dir: str, name: str, nbytes: int = 32) -> str:
    """``configured`` if set, else the secret in ``run_dir/name`` (created with ``nbytes`` of randomness)."""
    if configured:
        return configured
    path = Path(run_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(1000):
            value = path.read_text().strip()
            if value:
                return value
            os.sched_yield()
        raise RuntimeError(f"{path} exists but is empty; delete it and restart") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(nbytes))
    return path.read_text().strip()
