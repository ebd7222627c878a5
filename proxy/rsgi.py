"""RSGI adapter for granian (``proxy.rsgi:app``): the same gateway without ASGI's message dicts.

Measured ~20% faster than granian's ASGI interface on our machines, so it is the default
(``PROXY_INTERFACE=rsgi``). RSGI only exposes the percent-*decoded* path, so it is escaped
again (:func:`proxy.target.encode_decoded`) and canonicalised like any raw path: ``\\``,
``%``, controls and a lossy decode (U+FFFD) are refused as under ASGI. One difference
remains: an encoded slash (``%2F``) inside a segment cannot be told from ``/`` here, so it
splits the segment (and the upstream receives exactly that split path) instead of being
refused; ``PROXY_INTERFACE=asgi`` refuses it (docs/security.md).

Start-up and shut-down run in ``__rsgi_init__``/``__rsgi_del__``,
which granian calls on each worker's loop before serving and after stopping.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from kernel.settings import Settings, get_settings
from proxy.app import has_body
from proxy.gateway import Gateway
from proxy.target import encode_decoded
from proxy.types import Headers, Inbound


async def _body(protocol: Any) -> AsyncIterator[bytes]:
    """The request body as it arrives (RSGI's protocol may be iterated only once).

    granian ends the iteration with one empty chunk when the body is complete, but with two
    when the client went away mid-body; the second one is reported as a disconnect, so a
    truncated chunked upload is never forwarded as if it were whole.
    """
    empty = False
    async for chunk in protocol:
        if chunk:
            empty = False
            yield chunk
        elif empty:
            raise ConnectionResetError("client disconnected while sending the body")
        else:
            empty = True


#: granian adds ``Server: granian`` unless the answer names a server; an empty one names nothing.
NO_BANNER = ("server", "")


class RsgiResponder:
    """:class:`~proxy.types.Responder` over an RSGI HTTP protocol object (no ``Server`` banner)."""

    __slots__ = ("protocol", "transport")

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.transport: Any = None

    async def full(self, status: int, headers: Headers, body: bytes) -> None:
        """Send a complete response."""
        headers.append(NO_BANNER)
        self.protocol.response_bytes(status, headers, body)

    async def start(self, status: int, headers: Headers) -> None:
        """Begin a streamed response."""
        headers.append(NO_BANNER)
        self.transport = self.protocol.response_stream(status, headers)

    async def chunk(self, data: bytes) -> None:
        """Send a body chunk."""
        await self.transport.send_bytes(data)

    async def finish(self) -> None:
        """Nothing to do: the stream ends when the handler returns."""


class RsgiProxy:
    """The RSGI application object."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self.gateway: Gateway | None = None

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.gateway = Gateway(self._settings or get_settings())
        loop.run_until_complete(self.gateway.startup())

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.gateway is not None:
            loop.run_until_complete(self.gateway.shutdown())

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.proto != "http":
            return
        headers = list(scope.headers.items())
        client = scope.client
        request = Inbound(
            method=scope.method,
            path=encode_decoded(scope.path),
            query=scope.query_string,
            headers=headers,
            client=client.rpartition(":")[0] or client,
            scheme=scope.scheme,
            body=_body(protocol) if has_body(headers) else None,
        )
        await self.gateway.handle(request, RsgiResponder(protocol))


app = RsgiProxy()
