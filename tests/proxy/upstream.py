"""A small controllable upstream for proxy tests: ``python -m tests.proxy.upstream --name movies``.

* ``GET /health`` → 200.
* ``/__control/fail?status=500`` makes every other request answer that status (``status=0``
  resets); ``/__control/delay?seconds=0.05`` delays every echoed answer (``seconds=0`` resets);
  ``/__control/state`` tells the current mode.
* ``GET /__big?size=N`` (or any path with ``?big=N``) streams N bytes (pattern), ``GET /__slow?seconds=S`` answers late.
* ``GET /__hop`` answers with hop-by-hop headers the proxy must strip.
* ``GET /__utf8`` answers with a header value that is not ASCII (UTF-8 bytes).
* Any ``GET`` with ``?broken=1`` declares a 1000-byte body, sends 10 bytes and drops the connection.
* Any request with ``?reset=1`` is read in full, counted (``/__control/state`` → ``resets``) and
  the connection dropped without an answer (the request reached the service; no answer came).
* Any request with ``?slow=S`` is read in full, counted (``/__control/state`` → ``slow``) and
  answered after S seconds (the request reached the service; the answer is late).
* Anything else echoes the request as JSON: name, method, path, query, headers, body length
  and SHA-256 (bodies are consumed chunk by chunk, never held whole).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
from collections.abc import Callable

from aiohttp import web

PATTERN = bytes(range(256)) * 256  # 64 KiB


def build(name: str) -> web.Application:
    """The upstream app named ``name`` (reported in every echo)."""
    state = {"fail": 0, "resets": 0, "slow": 0, "delay": 0.0}

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": True, "name": name})

    async def control(request: web.Request) -> web.Response:
        if request.match_info["action"] == "fail":
            state["fail"] = int(request.query.get("status", "500"))
        if request.match_info["action"] == "delay":
            state["delay"] = float(request.query.get("seconds", "0"))
        return web.json_response({"fail": state["fail"], "resets": state["resets"], "slow": state["slow"],
                                  "name": name})

    async def big(request: web.Request) -> web.StreamResponse:
        size = int(request.query.get("size") or request.query["big"])
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = size
        await response.prepare(request)
        sent = 0
        while sent < size:
            chunk = PATTERN[: min(len(PATTERN), size - sent)]
            await response.write(chunk)
            sent += len(chunk)
        await response.write_eof()
        return response

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query.get("seconds", "2")))
        return web.json_response({"name": name, "slow": True})

    async def broken(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = 1000
        await response.prepare(request)
        await response.write(b'{"partial"')
        request.transport.close()  # the body breaks before its declared length
        return response

    async def hop(_: web.Request) -> web.Response:
        return web.json_response({"name": name}, headers={
            "Connection": "keep-alive, X-Private-Hop", "X-Private-Hop": "secret", "Proxy-Thing": "1",
            "Trailer": "X-Checksum", "X-Request-Id": "upstream-made-this", "X-Upstream": "spoofed",
            "X-End-To-End": "kept"})

    async def utf8(_: web.Request) -> web.Response:
        return web.json_response({"name": name}, headers={"X-Title": "café"})

    async def echo(request: web.Request) -> web.Response:
        if "reset" in request.query:
            await request.read()
            state["resets"] += 1
            request.transport.close()
            return web.Response()
        if "slow" in request.query:
            await request.read()
            state["slow"] += 1
            await asyncio.sleep(float(request.query["slow"]))
            return web.json_response({"name": name, "slow": True})
        if state["fail"]:
            return web.json_response({"error": "injected failure", "name": name}, status=state["fail"])
        if state["delay"]:
            await asyncio.sleep(state["delay"])
        if request.method == "GET" and "big" in request.query:
            return await big(request)
        if request.method == "GET" and "broken" in request.query:
            return await broken(request)
        digest = hashlib.sha256()
        length = 0
        async for chunk in request.content.iter_any():
            digest.update(chunk)
            length += len(chunk)
        return web.json_response({
            "name": name, "method": request.method, "path": request.raw_path.split("?")[0],
            "query": request.raw_path.partition("?")[2], "headers": {k.lower(): v for k, v in request.headers.items()},
            "body_length": length, "body_sha256": digest.hexdigest(),
        })

    app = web.Application(client_max_size=1024**3)
    app.router.add_get("/health", health)
    app.router.add_route("*", "/__control/{action}", control)
    app.router.add_get("/__big", big)
    app.router.add_get("/__slow", slow)
    app.router.add_get("/__hop", hop)
    app.router.add_get("/__utf8", utf8)
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


def serve(build_app: Callable[[str], web.Application]) -> None:
    """Serve ``build_app(--name)`` on 127.0.0.1:``--port`` until killed (shared by the stand-ins)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(build_app(args.name), host="127.0.0.1", port=args.port, print=None)


def main() -> None:
    """Serve until killed."""
    serve(build)


if __name__ == "__main__":
    main()
