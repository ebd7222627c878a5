"""The routing table: path prefix → domain, domain flag → backend (monolith or service).

A :class:`RoutingTable` is immutable; the flag cache builds a new one on every change and
swaps a single reference, so a request always sees one consistent table without locks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from domain_services.shared import registry
from proxy.bucketing import in_service

FLAGGED_DOMAINS = registry.FLAGGED

#: Path prefixes (the domain registry's, docs/api.md) → route. Checked in order; anything else → monolith.
PREFIXES: tuple[tuple[str, str], ...] = registry.ROUTE_PREFIXES


def route_of(path: str) -> str:
    """``movies`` | ``users`` | ``payments`` | ``events`` | ``monolith`` for a request path."""
    if path.startswith("/api/"):
        for prefix, route in PREFIXES:
            if path.startswith(prefix):
                return route
    return "monolith"


@dataclass(frozen=True, slots=True)
class Flag:
    """One domain's routing flag (a row of ``migration_flags`` or its defaults)."""

    domain: str
    mode: str = "monolith"
    percent: int = 0
    sticky_key: str = "user"
    fallback: bool = True
    auto_rollback: bool = True
    rollback_error_rate: float = 0.5
    rollback_min_requests: int = 20
    shadow_percent: int = 0
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
        return {
            "mode": self.mode, "percent": self.percent, "sticky_key": self.sticky_key,
            "fallback": self.fallback, "auto_rollback": self.auto_rollback,
            "rollback_error_rate": self.rollback_error_rate,
            "rollback_min_requests": self.rollback_min_requests, "shadow_percent": self.shadow_percent,
            "updated_at": self.updated_at,
        }


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
