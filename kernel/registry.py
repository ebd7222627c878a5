"""The domain registry: one declaration per domain, read by everything that needs the list.

A domain here is a deployable slice of the API: its route prefixes at the gateway, the
setting that holds its service URL and the service's default port, the Kafka topic its
events go to, the module that declares its tables, and — for domains the strangler migrates
away from the monolith — the defaults of its routing flag.

Readers: the kernel (``event_types``, ``models``, the flag contract), the gateway's routing
table and authorization policy, the monolith (which blueprints it serves), each domain
service's port and health path, the console (strangler cards, traffic and event stream), the
local stack (processes, Kafka topics), and ``cinemaabyss generate``, which writes the parts of
``docker-compose.yml``, the Helm values, the Dockerfile and the docs tables that cannot read
Python (a test keeps them in step). Adding a domain is one package under ``domain_services/``,
one entry in :data:`DOMAINS` and its migration (``docs/adding-a-domain.md``).

This module imports nothing from the project, so every layer (the gateway included) may read
it without pulling in SQLAlchemy or a domain package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Who may call a domain's paths: names the gateway policy (``proxy/policy.py``) maps to roles.
WHO = ("anyone", "signed-in", "editors", "payment-side", "admins")
#: Method groups of an :class:`Access` row (or one HTTP method, e.g. ``POST``).
METHOD_GROUPS = ("reads", "writes", "any")


@dataclass(frozen=True)
class Access:
    """One row of a domain's authorization, decided before the domain's blanket reads/writes rules.

    ``pattern`` as in ``proxy/policy.py`` (``*`` one segment, a trailing ``/**`` the subtree);
    ``methods`` one of :data:`METHOD_GROUPS` or an HTTP method; ``who`` one of :data:`WHO`.
    ``open_door``: sign-in paths (an attached token is ignored); ``callback``: a provider's
    signed callback (its own intake budget); ``probe``: health-like, open even when the gateway
    refuses anonymous callers everywhere else.
    """

    pattern: str
    methods: str
    who: str
    open_door: bool = False
    callback: bool = False
    probe: bool = False


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
    #: One line on what the domain holds (the docs' domain table).
    summary: str = ""
    #: Whether the service signs tokens: it holds the private half of the JWT key pair (Helm mounts it).
    signs_tokens: bool = False
    #: Who may read (GET, HEAD, OPTIONS) under each route prefix; see :data:`WHO`.
    reads: str = "anyone"
    #: Who may write (POST, PUT, PATCH, DELETE) under each route prefix; see :data:`WHO`. The
    #: default is the gateway's own for paths no rule names: admins only (deny by default).
    writes: str = "admins"
    #: Rows decided before the blanket ``reads``/``writes`` ones (open doors, narrower roles).
    access: tuple[Access, ...] = ()
    #: The domain's events, ``<aggregate>.<action>`` in the past tense, all on its ``topic``
    #: (``kernel.event_types`` builds the producers' and consumers' table from them).
    events: tuple[str, ...] = ()

    @property
    def package(self) -> str:
        """The domain's package (``python -m`` runs its service)."""
        return f"domain_services.{self.name}"


DOMAINS: tuple[Domain, ...] = (
    Domain(
        "movies", ("/api/movies",), "movies_service_url", 8081, "/api/movies/health",
        topic="movie-events", models="domain_services.movies.models",
        summary="movies domain: metadata, genres, ratings",
        writes="editors",
        access=(Access("/api/movies/*/ratings/**", "writes", "signed-in"),),  # as the token's user
        events=("movie.created", "movie.updated", "movie.deleted", "movie.rated"),
    ),
    Domain(
        "events", ("/api/events",), "events_service_url", 8082, "/api/events/health",
        flagged=False,  # a new service with no monolith counterpart: always routed to itself
        summary="publishes events to Kafka on request; consumes the domain topics and logs them",
        writes="payment-side",  # publishing onto the domain topics: services and admins
    ),
    Domain(
        "users", ("/api/users", "/api/auth"), "users_service_url", 8083, "/api/users/health",
        topic="user-events", models="domain_services.users.models",
        summary="users domain: registration, authentication (token issue), profiles",
        signs_tokens=True,
        # the users service lets one change only one's own profile, revoke only one's own tokens
        reads="signed-in", writes="signed-in",
        access=(
            Access("/api/users", "POST", "anyone", open_door=True),  # sign-up
            Access("/api/auth/login", "any", "anyone", open_door=True),
            Access("/api/auth/register", "any", "anyone", open_door=True),
            Access("/api/auth/refresh", "any", "anyone", open_door=True),
            Access("/api/users", "reads", "anyone"),  # the public listing (public fields only)
        ),
        events=("user.registered", "user.created", "user.updated", "user.deleted", "user.logged_in"),
    ),
    Domain(
        "payments", ("/api/payments", "/api/subscriptions"), "payments_service_url", 8084, "/api/payments/health",
        topic="payment-events", models="domain_services.payments.models",
        summary="payments domain: payments, subscriptions",
        # the payments service limits users to their own records
        reads="signed-in", writes="signed-in",
        access=(
            Access("/api/subscriptions/health", "reads", "anyone", probe=True),
            # the provider's callback carries no token: its HMAC signature is the credential
            Access("/api/payments/webhook", "POST", "anyone", callback=True),
            Access("/api/payments/*/status", "writes", "payment-side"),
            Access("/api/payments/*/refund", "writes", "payment-side"),
        ),
        events=("payment.created", "payment.completed", "payment.pending", "payment.failed", "payment.refunded",
                "payment.deleted", "subscription.created", "subscription.updated", "subscription.extended",
                "subscription.deleted"),
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
