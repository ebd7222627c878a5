"""The application processes ``make up`` starts, in start order.

Each is started as ``python -m <module>`` with ``PORT`` in its environment. The domain
services come from the domain registry (``kernel/registry.py``); the
deployments around them (monolith, gateway, console, worker) are listed here. A module that
cannot run is an error the stack reports, never a process skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel.registry import DOMAINS
from kernel.settings import Settings


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


PROCESSES: tuple[AppProcess, ...] = (
    AppProcess("monolith", "domain_services.monolith", 8080, "/health", "monolith_url"),
    *(AppProcess(d.name, d.package, d.port, d.health_path, d.url_setting) for d in DOMAINS),
    # stand-in for an external payment provider: takes checkouts, calls back signed webhooks
    AppProcess("payment-sandbox", "domain_services.payment_sandbox", 8085, "/health", "payment_provider_url"),
    AppProcess("proxy", "proxy", 8000, "/health", "proxy_url"),
    AppProcess("console", "control_plane", 8090, "/login", "console_url"),
    AppProcess("worker", "worker", None, None),
    AppProcess("beat", "worker.beat", None, None),
    AppProcess("payments-consumer", "domain_services.payments.consumer", None, None),  # payments-reactions
)

