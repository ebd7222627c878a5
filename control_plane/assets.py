"""Static files with fingerprints and compression.

``url_for('static', ...)`` adds ``v=<content hash>`` and such URLs are cached for a year
(``immutable``); a changed file gets a new URL, so nothing stale is served. Flask-Admin's own
files carry its version (``v=1.0.0``) and are cached the same way. Without a fingerprint (an
old bookmark, a hand-typed URL) Flask's default applies: revalidate.

Text files (scripts, stylesheets, SVG) go out gzipped to browsers that accept it, compressed
once per file version and kept in memory.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

YEAR = 365 * 24 * 3600
#: Endpoints serving static files: the console's and Flask-Admin's.
STATIC_ENDPOINTS = ("static", "admin.static")
COMPRESSIBLE = (".js", ".css", ".svg", ".map", ".json", ".txt")


@lru_cache(maxsize=256)
def _digest(path: Path, mtime_ns: int) -> str:
    return hashlib.blake2b(path.read_bytes(), digest_size=6).hexdigest()


def _inside(folder: str, filename: str) -> Path | None:
    root = Path(folder).resolve()
    path = (root / filename).resolve()
    return path if root in path.parents and path.is_file() else None


def fingerprint(folder: str, filename: str) -> str | None:
    """The content hash of ``folder/filename`` (None when it does not exist or lies outside)."""
    path = _inside(folder, filename)
    return _digest(path, path.stat().st_mtime_ns) if path else None


@lru_cache(maxsize=128)
def _gzipped(path: Path, mtime_ns: int) -> bytes:
    return gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)


def _folder(app: Flask, endpoint: str) -> str | None:
    if endpoint == "static":
        return app.static_folder
    blueprint = app.blueprints.get(endpoint.split(".", 1)[0])
    return blueprint.static_folder if blueprint is not None else None


def _compressed(app: Flask) -> Response | None:
    """The requested static text file gzipped, when the browser accepts gzip (else None: Flask serves it)."""
    filename = (request.view_args or {}).get("filename", "")
    if "gzip" not in request.headers.get("Accept-Encoding", "") or not filename.endswith(COMPRESSIBLE):
        return None
    folder = _folder(app, request.endpoint or "")
    path = _inside(folder, filename) if folder else None
    if path is None:
        return None
    mtime = path.stat().st_mtime_ns
    response = Response(_gzipped(path, mtime), mimetype=mimetypes.guess_type(filename)[0] or "text/plain")
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    response.set_etag(f"{_digest(path, mtime)}-gz")
    return response.make_conditional(request)


def install(app: Flask) -> None:
    """Fingerprint the console's static URLs, gzip text files, cache versioned answers for a year."""

    @app.url_defaults
    def _add_fingerprint(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values and app.static_folder:
            digest = fingerprint(app.static_folder, values["filename"])
            if digest:
                values["v"] = digest

    @app.before_request
    def _gzip_static() -> Response | None:
        if request.endpoint in STATIC_ENDPOINTS:
            return _compressed(app)
        return None

    @app.after_request
    def _cache(response: Response) -> Response:
        if request.endpoint in STATIC_ENDPOINTS and request.args.get("v") and response.status_code == 200:
            response.cache_control.public = True
            response.cache_control.max_age = YEAR
            response.cache_control.immutable = True
            response.cache_control.no_cache = None
        return response
