"""Serve an RSGI/ASGI app with granian and explicit server options (the experiments' launcher).

``python -m proxy`` fixes its options; this launcher exposes the ones worth measuring:

    python -m bench.lab.serve --app proxy.rsgi:app --workers 2 --loop uvloop \
        --runtime-mode st --runtime-threads 1 --backpressure 128 --task-impl asyncio

``PORT``, ``WEB_WORKERS`` (when ``--workers`` is absent) and the rest come from the usual
settings, like ``python -m proxy``; several workers share one Prometheus multiprocess directory.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> None:
    """Parse the options and serve until terminated."""
    from kernel.settings import get_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", default="proxy.rsgi:app")
    parser.add_argument("--interface", default="rsgi", choices=("rsgi", "asgi"))
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--loop", default="uvloop", choices=("uvloop", "rloop", "asyncio"))
    parser.add_argument("--runtime-mode", default="auto", choices=("auto", "st", "mt"))
    parser.add_argument("--runtime-threads", type=int, default=1)
    parser.add_argument("--backpressure", type=int, default=None)
    parser.add_argument("--task-impl", default="asyncio", choices=("asyncio", "rust"))
    parser.add_argument("--backlog", type=int, default=2048)
    args = parser.parse_args(argv)

    settings = get_settings()
    workers = args.workers or max(1, settings.web_workers)
    if workers > 1:  # the same arrangement as ``python -m proxy``: one shared multiprocess directory
        path = tempfile.mkdtemp(prefix="proxy-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    from granian import Granian
    from granian.constants import Interfaces, Loops, RuntimeModes, TaskImpl

    try:
        Granian(
            args.app,
            address=settings.host,
            port=settings.port_or(8000),
            interface=Interfaces(args.interface),
            workers=workers,
            loop=Loops(args.loop),
            runtime_mode=RuntimeModes(args.runtime_mode),
            runtime_threads=args.runtime_threads,
            backpressure=args.backpressure,
            task_impl=TaskImpl(args.task_impl),
            backlog=args.backlog,
            log_level="warning",
        ).serve()
    finally:
        if workers > 1:
            shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


if __name__ == "__main__":
    main()
