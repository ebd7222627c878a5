"""Run a WSGI app under gunicorn (threads per worker) — the shared ``__main__`` of every Flask process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from kernel.app_factory import configure_logging
from kernel.settings import Settings, get_settings


class _Gunicorn(BaseApplication):
    def __init__(self, app_factory: Callable[[Settings], Any], settings: Settings, options: dict[str, Any]) -> None:
        self._factory = app_factory
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self._factory(self._settings)


def serve(app_factory: Callable[[Settings], Any], default_port: int, *,
          post_fork: Callable[..., None] | None = None, workers: int | None = None) -> None:
    """Serve ``app_factory(settings)`` on ``PORT`` (or ``default_port``) until terminated.

    This is the composition root of every Flask process: it reads the settings once and hands
    them to the factory. The factory runs in each worker after the fork, so no connection is
    shared across processes. ``workers`` overrides ``WEB_WORKERS`` for a process whose state
    lives in memory (the sandbox provider).
    """
    settings = get_settings()
    configure_logging(settings)
    options = gunicorn_options(settings, default_port)
    if post_fork is not None:
        options["post_fork"] = post_fork
    if workers is not None:
        options["workers"] = workers
    _Gunicorn(app_factory, settings, options).run()


def gunicorn_options(settings: Settings, default_port: int) -> dict[str, Any]:
    """gunicorn's settings for one Flask process: ``HOST`` (loopback unless configured) and port."""
    return {
        "bind": f"{settings.host}:{settings.port_or(default_port)}",
        "workers": settings.web_workers,
        "threads": settings.web_threads,
        "worker_class": "gthread",
        "accesslog": None,
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "graceful_timeout": 10,
        "timeout": 60,
        "keepalive": 30,
        # gunicorn 27 opens a control socket at one fixed per-user path; several of our
        # processes run side by side, so it is off.
        "control_socket_disable": True,
    }
