"""Static files with fingerprints: ``url_for('static', ...)`` adds ``v=<content hash>`` and such URLs
are cached for a year (``immutable``); a changed file gets a new URL, so nothing stale is served.

Without the fingerprint (an old bookmark, a hand-typed URL) Flask's default applies: revalidate.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

YEAR = 365 * 24 * 3600


@lru_cache(maxsize=256)
def _digest(path: Path, mtime_ns: int) -> str:
    return hashlib.blake2b(path.read_bytes(), digest_size=6).hexdigest()


def fingerprint(folder: str, filename: str) -> str | None:
    """The content hash of ``folder/filename`` (None when it does not exist or lies outside)."""
    root = Path(folder).resolve()
    path = (root / filename).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return _digest(path, path.stat().st_mtime_ns)


def install(app: Flask) -> None:
    """Fingerprint the console's static URLs and cache fingerprinted answers for a year."""

    @app.url_defaults
    def _add_fingerprint(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values and app.static_folder:
            digest = fingerprint(app.static_folder, values["filename"])
            if digest:
                values["v"] = digest

    @app.after_request
    def _cache(response: Response) -> Response:
        if request.endpoint == "static" and request.args.get("v") and response.status_code == 200:
            response.cache_control.public = True
            response.cache_control.max_age = YEAR
            response.cache_control.immutable = True
            response.cache_control.no_cache = None
        return response
