"""The gateway's own Python cost per request, without sockets: a steady number to optimise against.

End-to-end runs on a 2-core machine swing by ±10-20 %; the gateway's logic is a fifth of a
request. This drives the real RSGI adapter and :class:`~proxy.gateway.Gateway` (canonical
path, token check with ``PROXY_AUTH_MODE=all``, role policy, revocation check, sticky routing
on a gradual 50 % flag, header hygiene, metrics, rollback detectors, rollout counters) with
a fake granian protocol and a fake pyreqwest client that answer at once, on one event loop,
and reports microseconds per request (best of ``--repeat`` runs). What it leaves out — the
Rust sides of granian and pyreqwest, the thread hand-offs — is what ``bench.lab.experiments``
measures.

    .venv/bin/python -m bench.lab.hotpath [--requests 20000 --repeat 5] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.lab.harness import PATH, token_setup

_BODY = b'{"id": 1, "title": "x"}' + b" " * 1000
_RESPONSE_HEADERS = [("server", "nginx"), ("date", "Wed, 25 Nov 2026 22:00:00 GMT"),
                     ("content-type", "application/json"), ("content-length", str(len(_BODY))),
                     ("connection", "keep-alive")]


class FakeHeaders:
    """granian's request headers object: ``items()`` and ``get()``."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def items(self) -> list[tuple[str, str]]:
        """Every header."""
        return list(self._pairs)

    def get(self, name: str, default: Any = None) -> Any:
        """One header."""
        return next((v for k, v in self._pairs if k == name), default)


class FakeScope:
    """An RSGI HTTP scope."""

    proto = "http"
    http_version = "1.1"
    scheme = "http"
    method = "GET"
    query_string = ""
    client = "127.0.0.1:50000"
    server = "127.0.0.1:8000"
    path = PATH

    def __init__(self, headers: list[tuple[str, str]]) -> None:
        self.headers = FakeHeaders(headers)


class FakeProtocol:
    """An RSGI HTTP protocol that drops the answer."""

    status = 0

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        """Record the status."""
        self.status = status


class _Reader:
    async def bytes(self) -> bytes:
        return _BODY


class _Response:
    status = 200

    def __init__(self) -> None:
        from pyreqwest.http import HeaderMap

        self.headers = HeaderMap(_RESPONSE_HEADERS)
        self.body_reader = _Reader()


class _Request:
    async def __aenter__(self) -> _Response:
        return _Response()

    async def __aexit__(self, *args: object) -> None:
        return None


class _Builder:
    def headers(self, headers: Any) -> _Builder:
        return self

    def body_bytes(self, body: bytes) -> _Builder:
        return self

    def body_stream(self, body: Any) -> _Builder:
        return self

    def build_streamed(self) -> _Request:
        return _Request()


class FakeClient:
    """A pyreqwest client whose every request is answered at once with the benchmark's 1 KB JSON."""

    def request(self, method: str, url: str) -> _Builder:
        """A request builder."""
        return _Builder()

    async def close(self) -> None:
        """Nothing to close."""


def build(workdir: Path) -> tuple[Any, FakeScope]:
    """The RSGI app with its gateway wired to fakes, and a scope carrying a valid token."""
    from kernel.settings import load_settings
    from proxy.routing import Flag
    from proxy.rsgi import RsgiProxy

    public_key, token = token_setup(workdir)
    settings = load_settings({"JWT_PUBLIC_KEY_PATH": public_key, "PROXY_AUTH_MODE": "all",
                              "MONOLITH_URL": "http://127.0.0.1:1", "MOVIES_SERVICE_URL": "http://127.0.0.1:1"})
    app = RsgiProxy(settings)
    from proxy.gateway import Gateway

    app.gateway = gateway = Gateway(settings)
    gateway.client = FakeClient()
    gateway.cache.replace_flag(Flag("movies", mode="gradual", percent=50, sticky_key="client"), "bench")
    headers = [("host", "127.0.0.1:8000"), ("authorization", f"Bearer {token}"), ("user-agent", "wrk"),
               ("accept", "*/*")]
    return app, FakeScope(headers)


async def run(app: Any, scope: FakeScope, requests: int) -> float:
    """Microseconds per request over ``requests`` sequential requests."""
    protocol = FakeProtocol()
    handle = app.__rsgi__
    started = time.perf_counter()
    for _ in range(requests):
        await handle(scope, protocol)
    elapsed = time.perf_counter() - started
    assert protocol.status == 200, protocol.status
    return elapsed / requests * 1e6


def main(argv: list[str] | None = None) -> None:
    """Print the best microseconds per request (and a cProfile table with ``--profile``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    app, scope = build(Path(tempfile.mkdtemp(prefix="proxy-hotpath-")))
    loop = asyncio.new_event_loop()
    loop.run_until_complete(run(app, scope, 2000))  # warm caches (token, routes)
    collections = [0, 0, 0]

    def counted(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections[info["generation"]] += 1

    gc.callbacks.append(counted)  # does the hot path leave garbage for the cyclic collector?
    best = min(loop.run_until_complete(run(app, scope, args.requests)) for _ in range(args.repeat))
    gc.callbacks.remove(counted)
    print(f"gateway hot path: {best:.1f} us per request (best of {args.repeat} x {args.requests}, "
          f"fake server protocol and client); cyclic collections during the runs: "
          f"gen0 {collections[0]}, gen1 {collections[1]}, gen2 {collections[2]}")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        loop.run_until_complete(run(app, scope, args.requests))
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
