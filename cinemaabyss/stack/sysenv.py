"""The two things the stack takes from the process environment besides settings.

Application configuration is read only by ``kernel.settings``. The stack also
has to (a) hand its own environment down to the processes it starts and (b) honour the XDG
cache convention for the Kafka jar cache — neither is application configuration, and keeping
both here makes this the only ``os.environ`` access in the stack.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment plus ``extra``, for a child process."""
    return {**os.environ, **(extra or {})}


def cache_dir() -> Path:
    """``${XDG_CACHE_HOME:-$HOME/.cache}/cinemaabyss``: survives ``make clean`` of ``.run``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cinemaabyss"
