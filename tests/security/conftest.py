"""Fixtures of the security suite: recording upstreams behind real gateway processes."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import httpx
import pytest
import redis

from kernel.tokens import issue_token
from tests.proxy import conftest as proxy_fixtures
from tests.proxy.conftest import health, reset_flags
from tests.support.processes import RunningProcess, free_port, start_process, wait_until

BACKENDS = ("monolith", "movies", "users", "payments", "events")
jwt_keys = proxy_fixtures.jwt_keys  # the proxy suite's session key pair fixture


@dataclass
class Backends:
    """One recording upstream per backend (``tests/security/recorder.py``)."""

    procs: dict[str, RunningProcess]
    client: httpx.Client  # one client: a new httpx client per call costs ~0.1 s (TLS context)

    def env(self) -> dict[str, str]:
        """Gateway settings pointing every backend at its recorder."""
        return {"MONOLITH_URL": self.procs["monolith"].url,
                **{f"{name.upper()}_SERVICE_URL": self.procs[name].url for name in BACKENDS[1:]}}

    def recorded(self) -> list[dict]:
        """Every request any backend has received since the last :meth:`forget`."""
        return [entry for proc in self.procs.values() for entry in self.client.get(f"{proc.url}/__recorded").json()]

    def forget(self) -> None:
        """Clear every recorder."""
        for proc in self.procs.values():
            self.client.delete(f"{proc.url}/__recorded")


@pytest.fixture(scope="module")
def backends():
    """Recording upstreams for the monolith and every service, for the whole module."""
    procs = {}
    try:
        for name in BACKENDS:
            port = free_port()
            procs[name] = start_process(f"recorder-{name}", "tests.security.recorder", port=port,
                                        args=("--name", name, "--port", str(port)))
        with httpx.Client() as client:
            yield Backends(procs, client)
    finally:
        for proc in procs.values():
            proc.stop()


@pytest.fixture
def gateway_factory(db_url, backends, jwt_keys, redis_url):
    """Start gateways (``python -m proxy``) in front of the recorders; flags reset to defaults."""
    reset_flags(db_url)
    backends.forget()
    started = []

    def start(**env: str) -> RunningProcess:
        full_env = {**backends.env(), "JWT_PUBLIC_KEY_PATH": jwt_keys[1], "REDIS_URL": redis_url,
                    "PROXY_FLAG_REFRESH_MS": "60000", **env}
        proc = start_process("gateway", "proxy", port=free_port(), env=full_env, health_path="/health")
        started.append(proc)
        wait_until(lambda: health(proc)["revocations"]["source"] == "live", timeout=10,
                   message="gateway revocations live")
        return proc

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def no_stored_keys(redis_url):
    """An empty Idempotency-Key store: quotas count what callers hold, and every test calls from
    127.0.0.1."""
    client = redis.Redis.from_url(redis_url)
    for pattern in ("idem:*", "idem-keys:*", "idem-bytes:*"):
        for key in client.scan_iter(pattern):
            client.delete(key)
    client.close()


@pytest.fixture
def gateway(gateway_factory):
    """One gateway with default settings."""
    return gateway_factory()


@pytest.fixture
def token_for(jwt_keys):
    """``token_for(role, user_id=…)``: a fresh access token signed with the session key."""
    def make(role: str, user_id: int = 4242, ttl: int = 300, now: float | None = None) -> str:
        return issue_token(user_id, jwt_keys[0], ttl, role=role, now=now)

    return make


def raw_request(port: int, head: str, body: bytes = b"", timeout: float = 5.0) -> tuple[int, bytes]:
    """Send ``head`` (request line and headers, CRLF-separated, without the blank line) and
    ``body`` on a fresh socket; ``(status, response body)`` (status 0 when the server closed
    the connection without an answer)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\nConnection: close\r\n\r\n" + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    if not data:
        return 0, b""
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]
