"""The domain registry: one declaration per domain, read by everything that needs the list.

A domain here is a deployable slice of the API: its route prefixes at the gateway, the
setting that holds its service URL and the service's default port, the Kafka topic its
events go to, the module that declares its tables, and — for domains the strangler migrates
away from the monolith — the defaults of its routing flag.

Readers: the kernel (``metadata``, ``event_types``, ``models``, the flag contract), the
gateway's routing table, the monolith (which blueprints it serves), the console's traffic
chart, the local stack (processes, Kafka topics), and the deploy tests
that check ``docker-compose.yml`` and the Helm values against it. Adding a domain is one
package under ``domain_services/`` plus one entry in :data:`DOMAINS`
(``docs/adding-a-domain.md``).

This module imports nothing from the project, so every layer (the gateway included) may read
it without pulling in SQLAlchemy or a domain package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Domain:
    """One domain's facts. Field names are the vocabulary of the rest of the system."""

    name: str
    #: ``/api/...`` path prefixes the gateway sends to this domain (first match wins).
    route_prefixes: tuple[str, ...]
    #: ``Settings`` field holding the domain service's base URL (``MOVIES_SERVICE_URL`` ...).
    url_setting: str
    #: The service's default port (the port of the default URL, compose and Helm).
    port: int
    #: Health path of the service (stack readiness, compose healthcheck, Helm probes).
    health_path: str
    #: Kafka topic of the domain's events; ``None`` for a domain that owns none.
    topic: str | None = None
    #: Module declaring the domain's tables (imported for Alembic); ``None``: no tables.
    models: str | None = None
    #: Whether a strangler flag routes this domain between the monolith and its service.
    flagged: bool = True
    #: This domain's own flag defaults, over the flag protocol's (``flag_contract.FLAG_DEFAULTS``:
    #: all traffic to the monolith, fallback and auto-rollback on). Empty: the protocol's.
    flag_defaults: Mapping[str, Any] = field(default_factory=dict)

    @property
    def package(self) -> str:
        """The domain's package (``python -m`` runs its service)."""
        return f"domain_services.{self.name}"


DOMAINS: tuple[Domain, ...] = (
    Domain(
        "movies", ("/api/movies",), "movies_service_url", 8081, "/api/movies/health",
        topic="movie-events", models="domain_services.movies.models",
    ),
    Domain(
        "events", ("/api/events",), "events_service_url", 8082, "/api/events/health",
        flagged=False,  # a new service with no monolith counterpart: always routed to itself
    ),
    Domain(
        "users", ("/api/users", "/api/auth"), "users_service_url", 8083, "/api/users/health",
        topic="user-events", models="domain_services.users.models",
    ),
    Domain(
        "payments", ("/api/payments", "/api/subscriptions"), "payments_service_url", 8084, "/api/payments/health",
        topic="payment-events", models="domain_services.payments.models",
    ),
)

_BY_NAME = {d.name: d for d in DOMAINS}

#: Domains a strangler flag migrates, in display order.
FLAGGED: tuple[str, ...] = tuple(d.name for d in DOMAINS if d.flagged)
#: Every domain topic, in declaration order.
TOPICS: tuple[str, ...] = tuple(d.topic for d in DOMAINS if d.topic)
#: ``(prefix, domain)`` pairs for the gateway, in declaration order.
ROUTE_PREFIXES: tuple[tuple[str, str], ...] = tuple((p, d.name) for d in DOMAINS for p in d.route_prefixes)
#: Model modules, the kernel's first (its tables: outbox, flags, audit, operators).
MODEL_MODULES: tuple[str, ...] = ("kernel.models", *(d.models for d in DOMAINS if d.models))


def domain(name: str) -> Domain:
    """The declared domain ``name``; an unknown name is a programming error."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown domain {name!r}; declared: {', '.join(_BY_NAME)}") from None


def topic_of(name: str) -> str:
    """The Kafka topic of domain ``name`` (``KeyError`` if it has none)."""
    topic = domain(name).topic
    if topic is None:
        raise KeyError(f"domain {name!r} has no topic")
    return topic
