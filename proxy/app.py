"""Pure ASGI adapter: ``proxy.app:app`` (granian ``--interface asgi`` or uvicorn).

Checks ``scope["type"]`` first, handles ``lifespan`` (start-up/shut-down of the worker's
:class:`~proxy.gateway.Gateway`) and turns each ``http`` scope into an
:class:`~proxy.types.Inbound` with a streaming body iterator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from kernel.settings import Settings, get_settings
from proxy.gateway import Gateway
from proxy.target import encode_decoded
from proxy.types import Headers, Inbound, Receive, Scope, Send


def has_body(headers: Headers) -> bool:
    """Whether the request declares a body (non-zero ``Content-Length`` or ``Transfer-Encoding``)."""
    for name, value in headers:
        if name == "content-length":
            return value.strip() not in ("", "0")
        if name == "transfer-encoding":
            return True
    return False


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionResetError("client disconnected while sending the body")
        chunk = message.get("body", b"")
        more = message.get("more_body", False)
        if chunk:
            yield chunk


class AsgiResponder:
    """:class:`~proxy.types.Responder` over ASGI ``send``."""

    __slots__ = ("send",)

    def __init__(self, send: Send) -> None:
        self.send = send

    @staticmethod
    def _raw(headers: Headers) -> list[tuple[bytes, bytes]]:
        # an empty Server header: the ASGI server adds its own banner only when none is given
        return [*((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers), (b"server", b"")]

    async def full(self, status: int, headers: Headers, body: bytes) -> None:
        """Send a complete response."""
        await self.send({"type": "http.response.start", "status": status, "headers": self._raw(headers)})
        await self.send({"type": "http.response.body", "body": body})

    async def start(self, status: int, headers: Headers) -> None:
        """Begin a streamed response."""
        await self.send({"type": "http.response.start", "status": status, "headers": self._raw(headers)})

    async def chunk(self, data: bytes) -> None:
        """Send a body chunk."""
        await self.send({"type": "http.response.body", "body": data, "more_body": True})

    async def finish(self) -> None:
        """End the body."""
        await self.send({"type": "http.response.body", "body": b""})


class ProxyApp:
    """The ASGI application; one :class:`Gateway` per worker, created at lifespan start-up."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self.gateway: Gateway | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
            raw_path = scope.get("raw_path")
            client = scope.get("client")
            request = Inbound(
                method=scope["method"],
                path=raw_path.decode("latin-1") if raw_path else encode_decoded(scope["path"]),
                query=scope["query_string"].decode("latin-1"),
                headers=headers,
                client=client[0] if client else "",
                scheme=scope.get("scheme", "http"),
                body=_body(receive) if has_body(headers) else None,
            )
            await self.gateway.handle(request, AsgiResponder(send))
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.gateway = Gateway(self._settings or get_settings())
                    await self.gateway.startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.gateway is not None:
                    await self.gateway.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


app = ProxyApp()
