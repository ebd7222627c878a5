"""The routing table: path prefix → domain, domain flag → backend (monolith or service).

A :class:`RoutingTable` is immutable; the flag cache builds a new one on every change and
swaps a single reference, so a request always sees one consistent table without locks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from kernel import registry
from proxy.bucketing import in_service
from strangler.flag_contract import FLAG_DEFAULTS

#: Path prefixes (the domain registry's, docs/api.md) → route. Checked in order; anything else → monolith.
PREFIXES: tuple[tuple[str, str], ...] = registry.ROUTE_PREFIXES


#: Each service's own health path: always answered by that service, whatever its flag says.
SERVICE_HEALTH: frozenset[str] = frozenset(d.health_path for d in registry.DOMAINS)


def route_of(path: str) -> str:
    """``movies`` | ``users`` | ``payments`` | ``events`` | ``monolith`` for a request path."""
    if path.startswith("/api/"):
        for prefix, route in PREFIXES:
            if path.startswith(prefix):
                return route
    return "monolith"


@dataclass(frozen=True, slots=True)
class Flag:
    """One domain's routing flag (a row of ``migration_flags`` or its defaults).

    Field defaults are the contract's (:data:`~strangler.flag_contract.FLAG_DEFAULTS`).
    """

    domain: str
    mode: str = FLAG_DEFAULTS["mode"]
    percent: int = FLAG_DEFAULTS["percent"]
    sticky_key: str = FLAG_DEFAULTS["sticky_key"]
    fallback: bool = FLAG_DEFAULTS["fallback"]
    auto_rollback: bool = FLAG_DEFAULTS["auto_rollback"]
    rollback_error_rate: float = FLAG_DEFAULTS["rollback_error_rate"]
    rollback_min_requests: int = FLAG_DEFAULTS["rollback_min_requests"]
    shadow_percent: int = FLAG_DEFAULTS["shadow_percent"]
    rollback_consecutive: int = FLAG_DEFAULTS["rollback_consecutive"]
    rollback_p99_percent: int = FLAG_DEFAULTS["rollback_p99_percent"]
    updated_at: float | None = None

    def wants_service(self, user_id: str | None, header_id: str | None, client: str) -> bool:
        """Whether this request goes to the service (sticky per the flag's key)."""
        mode = self.mode
        if mode == "monolith":
            return False
        if mode == "service":
            return True
        sticky = self.sticky_key
        if sticky == "user":
            key: str | None = user_id or header_id or client
        elif sticky == "header":
            key = header_id or client
        elif sticky == "client":
            key = client
        else:
            key = None
        return in_service(self.domain, key, self.percent)

    def as_dict(self) -> dict[str, Any]:
        """The flag as JSON-ready data (health document)."""
        return {**{name: getattr(self, name) for name in FLAG_DEFAULTS}, "updated_at": self.updated_at}


@dataclass(frozen=True, slots=True)
class RoutingTable:
    """Flags of every domain plus where they came from."""

    flags: dict[str, Flag]
    version: int = 0
    source: str = "defaults"  # defaults | database | local-rollback
    loaded_at: float = field(default_factory=time.time)

    def with_flag(self, flag: Flag, source: str) -> RoutingTable:
        """A copy with ``flag`` replaced (used for an immediate local rollback)."""
        return replace(self, flags={**self.flags, flag.domain: flag}, version=self.version + 1, source=source)


@dataclass(frozen=True, slots=True)
class Upstreams:
    """Base URLs of every backend (no trailing slash)."""

    monolith: str
    services: dict[str, str]  # route (movies, users, payments, events) → URL

    @classmethod
    def from_settings(cls, settings: Any) -> Upstreams:
        """Upstream URLs from settings."""
        return cls(
            monolith=settings.monolith_url.rstrip("/"),
            services={d.name: getattr(settings, d.url_setting).rstrip("/") for d in registry.DOMAINS},
        )
