"""``python -m proxy``: serve the gateway with granian on ``PORT`` (default 8000).

``WEB_WORKERS`` worker processes (default 2), each with its own event loop (uvloop), client
pool, flag listener and metrics; ``PROXY_INTERFACE`` picks granian's RSGI (default, faster)
or ASGI interface. With several workers Prometheus runs in multiprocess mode over a fresh
directory under ``RUN_DIR`` so ``/metrics`` sums all workers.

A client gets ``PROXY_HEADER_TIMEOUT_MS`` to send its request headers (granian closes the
connection after that); body limits are the gateway's own (``proxy/intake.py``).
"""

from __future__ import annotations

import logging
import os
import shutil

from kernel.settings import get_settings

DEFAULT_PORT = 8000


def _prepare_metrics_dir(run_dir: str, port: int) -> None:
    """Point prometheus-client at an empty per-port directory (before it is imported)."""
    path = os.path.join(run_dir, "prometheus", f"proxy-{port}")
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path  # read by prometheus-client in every worker


def main() -> None:
    """Run the server until terminated."""
    settings = get_settings()
    port = settings.port_or(DEFAULT_PORT)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s proxy %(message)s")
    if settings.web_workers > 1:
        _prepare_metrics_dir(settings.run_dir, port)
    from granian import Granian
    from granian.constants import Interfaces, Loops
    from granian.http import HTTP1Settings

    rsgi = settings.proxy_interface.lower() != "asgi"
    Granian(
        "proxy.rsgi:app" if rsgi else "proxy.app:app",
        address=settings.host,
        port=port,
        interface=Interfaces.RSGI if rsgi else Interfaces.ASGI,
        workers=max(1, settings.web_workers),
        loop=Loops.uvloop,
        backlog=2048,
        # granian accepts 1..60000 ms; a slow-header client is cut off after this
        http1_settings=HTTP1Settings(header_read_timeout=min(60_000, max(1, settings.proxy_header_timeout_ms))),
        log_level=settings.log_level.lower(),
    ).serve()


if __name__ == "__main__":
    main()
