"""Fixtures of the proxy suite: clean flag rows, libpq URLs, upstream and proxy processes."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.engine import make_url


def libpq_url(sqlalchemy_url: str) -> str:
    """The SQLAlchemy URL as a plain libpq URL (``postgresql://``) for psycopg."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


def reset_flags(db_url: str) -> None:
    """Delete every flag row (each domain falls back to its defaults) and notify listeners."""
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute("DELETE FROM migration_flags")
        conn.execute("SELECT pg_notify('migration_flags', 'reset')")


@pytest.fixture
def clean_flags(db_url):
    """No flag rows before and after the test."""
    reset_flags(db_url)
    yield
    reset_flags(db_url)


#: The operator token :func:`health` sends (the details are for admins and services only).
_OPERATOR: dict[str, str] = {}
OPERATOR_USER_ID = 990_001


@pytest.fixture(scope="session")
def jwt_keys(tmp_path_factory):
    """``(private_pem, public_key_path)`` of a key pair made for this session."""
    from kernel.tokens import generate_keys, issue_token

    private_pem, public_pem = generate_keys()
    path = tmp_path_factory.mktemp("keys") / "jwt.pub"
    path.write_text(public_pem)
    _OPERATOR["authorization"] = f"Bearer {issue_token(OPERATOR_USER_ID, private_pem, 86_400, role='admin')}"
    return private_pem, str(path)


@pytest.fixture(scope="session")
def monolith(db_url):
    """The real monolith on a free port."""
    from tests.support.processes import free_port, running

    with running("monolith", "domain_services.monolith", port=free_port(), health_path="/health") as proc:
        yield proc


@pytest.fixture
def upstream_factory():
    """Start controllable upstreams (``tests/proxy/upstream.py``); all stopped after the test."""
    from tests.support.processes import free_port, start_process

    started = []

    def start(name: str):
        port = free_port()
        proc = start_process(f"upstream-{name}", "tests.proxy.upstream", port=port, health_path="/health",
                             args=("--name", name, "--port", str(port)))
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def movies_service(upstream_factory):
    """A controllable stand-in for the movies service."""
    return upstream_factory("movies")


@pytest.fixture
def proxy_factory(clean_flags, monolith, movies_service, upstream_factory, jwt_keys, redis_url):
    """Start proxies (``python -m proxy``) pointed at the monolith and stand-in services."""
    from tests.support.processes import free_port, start_process, wait_until

    services = {name: upstream_factory(name).url for name in ("users", "payments", "events")}
    started = []

    def start(**env: str):
        full_env = {
            "MONOLITH_URL": monolith.url, "MOVIES_SERVICE_URL": movies_service.url,
            "USERS_SERVICE_URL": services["users"], "PAYMENTS_SERVICE_URL": services["payments"],
            "EVENTS_SERVICE_URL": services["events"], "JWT_PUBLIC_KEY_PATH": jwt_keys[1],
            "REDIS_URL": redis_url, **env,
        }
        proc = start_process("proxy", "proxy", port=free_port(), env=full_env, health_path="/health")
        started.append(proc)
        if "DATABASE_URL" not in env:
            wait_until(lambda: health(proc)["flags_source"] == "live", timeout=10, message="proxy flags live")
        return proc

    yield start
    for proc in started:
        proc.stop()


def operator_headers() -> dict[str, str]:
    """An admin's ``Authorization`` header for this session's key pair (after ``jwt_keys``)."""
    return dict(_OPERATOR)


def health(proc) -> dict:
    """The JSON health document of a proxy process (as an operator sees it)."""
    import httpx

    return httpx.get(f"{proc.url}/health", headers={"Accept": "application/json", **_OPERATOR}, timeout=2).json()
