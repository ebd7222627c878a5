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
