"""Registry of the application processes ``make up`` starts, in start order.

Each is started as ``python -m <module>`` with ``PORT`` in its environment. A process whose
module (its ``__main__``) does not exist yet is skipped silently, so the stack works while
the other parts of the system are still being built.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from domain_services.shared.settings import Settings


@dataclass(frozen=True)
class AppProcess:
    """One application process."""

    name: str
    module: str
    default_port: int | None  # None: a background process without HTTP (worker, beat)
    health_path: str | None
    url_setting: str | None = None  # the Settings field holding this process's base URL

    def port(self, settings: Settings) -> int | None:
        """The port from the process's URL setting (``MONOLITH_URL`` ...), else the default."""
        from cinemaabyss.stack.postgres import port_from_url

        if self.default_port is None:
            return None
        if self.url_setting is None:
            return self.default_port
        return port_from_url(getattr(settings, self.url_setting), self.default_port)

    def available(self) -> bool:
        """Whether ``python -m <module>`` would run (a package needs its ``__main__``)."""
        try:
            spec = importlib.util.find_spec(self.module)
            if spec is None:
                return False
            if spec.submodule_search_locations is not None:  # a package: needs __main__
                return importlib.util.find_spec(f"{self.module}.__main__") is not None
            return True
        except (ImportError, ValueError):  # a parent package missing or broken
            return False


PROCESSES: tuple[AppProcess, ...] = (
    AppProcess("monolith", "domain_services.monolith", 8080, "/health", "monolith_url"),
    AppProcess("movies", "domain_services.movies", 8081, "/api/movies/health", "movies_service_url"),
    AppProcess("events", "domain_services.events", 8082, "/api/events/health", "events_service_url"),
    AppProcess("users", "domain_services.users", 8083, "/api/users/health", "users_service_url"),
    AppProcess("payments", "domain_services.payments", 8084, "/api/payments/health", "payments_service_url"),
    AppProcess("proxy", "proxy", 8000, "/health", "proxy_url"),
    AppProcess("console", "control_plane", 8090, "/login", "console_url"),
    AppProcess("worker", "worker", None, None),
    AppProcess("beat", "worker.beat", None, None),
)


def by_name(name: str) -> AppProcess:
    """The registered process called ``name``."""
    for process in PROCESSES:
        if process.name == name:
            return process
    raise KeyError(name)
