"""Throw-away databases for the tests that need a schema of their own (migration tests)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def throwaway_database(db_url: str, prefix: str) -> Iterator[str]:
    """A brand-new empty database on ``db_url``'s server, named ``<prefix>_<random>``; yields its
    URL and drops it afterwards (also when connections are left open)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(db_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
