"""The session secret: ``SECRET_KEY`` if set, else a key generated once into ``RUN_DIR/secret_key``."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from kernel.settings import Settings


def load_secret_key(settings: Settings) -> str:
    """Return the configured key or read/create ``RUN_DIR/secret_key`` (mode 600).

    Creation uses ``O_EXCL`` so several workers starting at once agree on one key.
    """
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.run_dir) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_when_written(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _read_when_written(path: Path) -> str:
    """Another worker may have created the file a moment ago; read until its key is there."""
    for _ in range(100):
        key = path.read_text().strip()
        if key:
            return key
        os.sched_yield()
    raise RuntimeError(f"{path} exists but is empty; delete it and restart")
