"""ASGI type aliases and the neutral request/response types shared by both server adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Header list as ``(lower-case name, value)`` strings.
Headers = list[tuple[str, str]]


@dataclass(slots=True)
class Inbound:
    """One client request, independent of the server interface (ASGI or RSGI)."""

    method: str
    path: str
    query: str
    headers: Headers
    client: str
    scheme: str
    body: AsyncIterator[bytes] | None
    #: who is calling, for rollback evidence and key namespaces: the verified user id, else the
    #: client address (set by the gateway once the token is checked; never a client-sent hint)
    caller: str = ""

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (lower-case), or ``None``."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


class Responder(Protocol):
    """How the gateway answers, implemented by each server adapter."""

    async def full(self, status: int, headers: Headers, body: bytes) -> None:
        """Send a complete response."""

    async def start(self, status: int, headers: Headers) -> None:
        """Begin a streamed response."""

    async def chunk(self, data: bytes) -> None:
        """Send one body chunk of a streamed response."""

    async def finish(self) -> None:
        """End a streamed response."""
