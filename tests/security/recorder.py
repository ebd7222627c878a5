"""A recording upstream for security tests: ``python -m tests.security.recorder --name monolith --port N``.

Every request except the control paths is answered 200 with a JSON echo and kept in memory;
``GET /__recorded`` lists them (method, raw path, query, identity headers, body length) and
``DELETE /__recorded`` forgets them. ``/__redirect?to=PATH`` answers a 308 with an absolute
``Location`` built from the ``Host`` it was called with, as werkzeug does.
"""

from __future__ import annotations

from aiohttp import web

from tests.proxy.upstream import serve


def build(name: str) -> web.Application:
    """The recording app named ``name``."""
    recorded: list[dict] = []

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": True, "name": name})

    async def listing(request: web.Request) -> web.Response:
        if request.method == "DELETE":
            recorded.clear()
        return web.json_response(recorded)

    async def redirect(request: web.Request) -> web.Response:
        location = f"http://{request.host}{request.query.get('to', '/')}"
        return web.Response(status=308, headers={"Location": location, "Content-Type": "text/html"},
                            text=f'<a href="{location}">{location}</a>')

    async def record(request: web.Request) -> web.Response:
        body = await request.read()
        entry = {
            "name": name, "method": request.method, "path": request.raw_path.partition("?")[0],
            "query": request.raw_path.partition("?")[2], "user_id": request.headers.get("X-User-Id"),
            "role": request.headers.get("X-User-Role"), "body_length": len(body),
            "content_length": request.headers.get("Content-Length"),
            "chunked": "chunked" in request.headers.get("Transfer-Encoding", ""),
        }
        recorded.append(entry)
        return web.json_response(entry)

    app = web.Application(client_max_size=1024**3)
    app.router.add_get("/health", health)
    app.router.add_route("*", "/__recorded", listing)
    app.router.add_get("/__redirect", redirect)
    app.router.add_route("*", "/{tail:.*}", record)
    return app


def main() -> None:
    """Serve until killed."""
    serve(build)


if __name__ == "__main__":
    main()
