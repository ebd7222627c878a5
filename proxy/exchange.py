"""One client request on its way to a backend: everything the forwarding steps share.

The gateway builds an :class:`Exchange` once the request is admitted and routed; the
idempotency step, each attempt at a backend and the relay of the answer read it instead of a
dozen loose parameters. Attempts are booked in one place (:meth:`proxy.gateway.Gateway._book`).
"""

from __future__ import annotations

from dataclasses import dataclass

from proxy.forward import ReplayableBody
from proxy.routing import Flag, Upstreams
from proxy.types import Headers, Inbound, Responder


@dataclass(slots=True)
class Exchange:
    """A routed request: where it goes, what it carries, how its answer goes back."""

    request: Inbound
    out: Responder
    #: the domain the path belongs to (``monolith`` for paths no domain owns)
    route: str
    #: the domain's routing flag; ``None`` for pinned requests, health probes and unflagged routes
    flag: Flag | None
    #: the flag's (or the pin's) choice for this request
    to_service: bool
    #: path and query string, as sent upstream
    suffix: str
    #: the upstream request headers (verified identity, forwarding headers, idempotency key)
    headers: Headers
    request_id: str
    body: ReplayableBody | None = None
    #: keep a small answer for the gateway's ``Idempotency-Key`` store
    keep: bool = False
    #: the upstream holds this request's idempotency key with its answer (service side), so a
    #: write whose answer was lost may be sent to the monolith with the same key
    keyed: bool = False

    @property
    def fallback(self) -> bool:
        """Whether a failed service attempt may go to the monolith (the flag allows it)."""
        return self.to_service and self.flag is not None and self.flag.fallback

    def base(self, upstreams: Upstreams, backend: str) -> str:
        """The base URL of ``backend`` (``service`` or ``monolith``) for this route."""
        return upstreams.services[self.route] if backend == "service" else upstreams.monolith

    def target(self, backend: str) -> str:
        """The ``X-Upstream`` name of ``backend``: the domain for its service, else ``monolith``."""
        return self.route if backend == "service" else "monolith"
