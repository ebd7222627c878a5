"""Container health probe without curl: ``python deploy/healthcheck.py [URL]``.

Exits 0 when ``URL`` answers 2xx within the timeout, 1 otherwise. Without an argument it
probes ``HEALTHCHECK_URL`` or, failing that, ``http://127.0.0.1:$PORT/health`` (PORT default
8000, the proxy — the image's default process). Standard library only, so it works in the
slim runtime image before anything else is importable.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def probe_url(argv: list[str], environ: dict[str, str]) -> str:
    """The URL to probe: the first argument, ``HEALTHCHECK_URL``, or the proxy's /health."""
    if len(argv) > 1:
        return argv[1]
    if environ.get("HEALTHCHECK_URL"):
        return environ["HEALTHCHECK_URL"]
    return f"http://127.0.0.1:{environ.get('PORT') or '8000'}/health"


def main() -> int:
    """Probe once; print why on failure (docker keeps the output in `docker inspect`)."""
    url = probe_url(sys.argv, dict(os.environ))
    try:
        with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 -- a fixed http URL we build
            return 0 if 200 <= response.status < 300 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
