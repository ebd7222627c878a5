"""A stand-in for a rewrite with its own JSON encoder: ``python -m tests.proxy.shadow_variant --upstream URL``.

Every ``GET`` is forwarded to the upstream (the real monolith, so both sides read the same
rows) and a JSON answer is re-encoded as another language's encoder might write it: ASCII
escapes, HTML-safe ``&``/``<``/``>`` (``\\u0026`` ...), integral numbers without ``.0`` and the
keys of each object in reverse order. Same meaning, other bytes.

``POST /__control?reverse_genres=1&change_every=20&field=title`` injects real differences:
every ``genres`` array reversed; the ``field`` of every Nth JSON answer changed (N = 20: 5 %
of answers; for a list, its first element's). ``noise=1`` adds a ``served_at`` stamp that
differs in every answer (a legacy side that is not deterministic). ``GET /__control`` tells
the settings and how many answers were changed.
"""

from __future__ import annotations

import argparse
import json
import time

import aiohttp
from aiohttp import web


def legacy_json(value: object) -> bytes:
    """``value`` as the other encoder writes it."""
    def recode(v: object) -> object:
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, list):
            return [recode(x) for x in v]
        if isinstance(v, dict):
            return {k: recode(x) for k, x in reversed(v.items())}
        return v
    text = json.dumps(recode(value), ensure_ascii=True, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e").encode()


def _reverse_genres(value: object) -> None:
    if isinstance(value, list):
        for item in value:
            _reverse_genres(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "genres" and isinstance(item, list):
                item.reverse()
            else:
                _reverse_genres(item)


def build(upstream: str) -> web.Application:
    """The variant app in front of ``upstream``."""
    state = {"reverse_genres": False, "change_every": 0, "field": "title", "noise": False, "answers": 0,
             "changed": 0}

    async def control(request: web.Request) -> web.Response:
        if request.method == "POST":
            query = request.query
            state["reverse_genres"] = query.get("reverse_genres", "0") == "1"
            state["change_every"] = int(query.get("change_every", "0"))
            state["field"] = query.get("field", "title")
            state["noise"] = query.get("noise", "0") == "1"
            state["answers"] = state["changed"] = 0
        return web.json_response(state)

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": True})

    async def forward(request: web.Request) -> web.Response:
        session: aiohttp.ClientSession = request.app["session"]
        async with session.get(upstream + request.path_qs, headers={"Accept": "application/json"}) as response:
            body = await response.read()
            status, ctype = response.status, response.headers.get("Content-Type", "")
        if "json" not in ctype:
            return web.Response(status=status, body=body, content_type=ctype.split(";")[0] or None)
        value = json.loads(body)
        if state["reverse_genres"]:
            _reverse_genres(value)
        if state["noise"] and isinstance(value, dict):
            value["served_at"] = time.time_ns()
        state["answers"] += 1
        target = value[0] if isinstance(value, list) and value else value
        if state["change_every"] and state["answers"] % state["change_every"] == 0 \
                and isinstance(target, dict) and state["field"] in target:
            target[state["field"]] = f"{target[state['field']]} (rewritten)"
            state["changed"] += 1
        return web.Response(status=status, body=legacy_json(value), content_type="application/json")

    async def open_session(app: web.Application) -> None:
        app["session"] = aiohttp.ClientSession()

    async def close_session(app: web.Application) -> None:
        await app["session"].close()

    app = web.Application()
    app.on_startup.append(open_session)
    app.on_cleanup.append(close_session)
    app.router.add_route("*", "/__control", control)
    app.router.add_get("/health", health)
    app.router.add_get("/{tail:.*}", forward)
    return app


def main() -> None:
    """Serve on ``--port``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(build(args.upstream.rstrip("/")), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
