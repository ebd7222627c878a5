"""Shared fixtures: the real PostgreSQL, Redis and Kafka of the local stack.

Tests run against a separate database (the configured database name + ``_test``), migrated
to head and seeded once per session. ``make test`` starts the infrastructure first; when run
as plain ``pytest`` the session fails fast with the command to run if it is not up.

The session is the tests' composition root: :func:`pytest_configure` binds this process's
database to the test database and exports ``DATABASE_URL`` for the processes the tests start
(they inherit the environment). Fixtures hand settings to app factories explicitly.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy.engine import make_url

from kernel import db
from kernel.settings import load_settings


def as_test_database(database_url: str) -> str:
    """``database_url`` with ``_test`` appended to its database name (once)."""
    url = make_url(database_url)
    if not url.database.endswith("_test"):
        url = url.set(database=f"{url.database}_test")
    return url.render_as_string(hide_password=False)


def pytest_configure(config: pytest.Config) -> None:
    """Point this session — in-process code and every process it starts — at the test database."""
    url = as_test_database(load_settings().database_url)
    os.environ["DATABASE_URL"] = url  # inherited by the processes the tests start
    # tests call services directly with identity headers of their choosing; the tests of the
    # gateway's signature turn this off for the apps and processes they build
    os.environ.setdefault("IDENTITY_UNSIGNED_ALLOWED", "true")
    db.bind(url)


@pytest.fixture(scope="session")
def settings():
    """Settings as every process under test sees them."""
    return load_settings()


@pytest.fixture(scope="session")
def db_url(settings) -> str:
    """The test database, migrated to head and seeded (once per session)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    from cinemaabyss.commands.db import alembic_config
    from cinemaabyss.seed import seed

    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        pytest.exit(f"test database unreachable ({exc.orig}); start it with `make test` or "
                    "`.venv/bin/cinemaabyss stack infra-up`", returncode=3)
    finally:
        engine.dispose()
    from alembic import command

    config = alembic_config(settings.database_url)
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")
    seed()
    return settings.database_url


def reset_flag_rows(url: str) -> None:
    """Delete every flag row (each domain back at its defaults) and tell listening gateways."""
    from sqlalchemy import text

    with db.get_engine(url).begin() as conn:
        conn.execute(text("DELETE FROM migration_flags"))
        conn.execute(text("SELECT pg_notify('migration_flags', 'reset')"))


@pytest.fixture(autouse=True)
def isolated_flag_rows(request: pytest.FixtureRequest):
    """Every test that uses the database starts and ends with no flag rows.

    The console, CLI, rollout and gateway suites all move the same three flags in one
    database; without this a test would inherit whatever mode the previous one left.
    """
    if "db_url" not in request.fixturenames:
        yield
        return
    url = request.getfixturevalue("db_url")
    reset_flag_rows(url)
    yield
    reset_flag_rows(url)


@pytest.fixture
def monolith_app(db_url):
    """The monolith Flask app bound to the test database."""
    from domain_services.monolith.app import create_app

    app = create_app(load_settings())
    app.testing = True
    return app


@pytest.fixture
def monolith_client(monolith_app):
    """A Flask test client of the monolith."""
    return monolith_app.test_client()


@pytest.fixture(scope="session")
def kafka_brokers(settings) -> str:
    """Bootstrap servers of the real broker (fails the session clearly if it is down)."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": settings.kafka_brokers})
    try:
        admin.list_topics(timeout=10)
    except Exception as exc:
        pytest.exit(f"Kafka unreachable at {settings.kafka_brokers}: {exc}; run `make test`", returncode=3)
    return settings.kafka_brokers


@pytest.fixture(scope="session")
def redis_url(settings) -> str:
    """URL of the real Redis (fails the session clearly if it is down)."""
    import redis

    client = redis.Redis.from_url(settings.redis_url)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.exit(f"Redis unreachable at {settings.redis_url}: {exc}; run `make test`", returncode=3)
    finally:
        client.close()
    return settings.redis_url
