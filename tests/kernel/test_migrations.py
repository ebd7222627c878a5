"""The schema is built only by Alembic: empty → head → base → head must work."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect

from cinemaabyss.commands.db import alembic_config
from cinemaabyss.schema import load_all_models
from tests.support.databases import throwaway_database

EXPECTED_TABLES = {
    "users",
    "movies",
    "movie_genres",
    "payments",
    "subscriptions",
    "user_ratings",
    "migration_flags",
    "flag_audit",
    "outbox",
    "processed_events",
    "operators",
}


@pytest.fixture
def empty_database(db_url):
    """A brand-new database, dropped afterwards."""
    with throwaway_database(db_url, "migr") as url:
        yield url


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_round_trip(empty_database):
    config = alembic_config(empty_database)
    config.attributes["configure_logging"] = False

    command.upgrade(config, "head")
    assert _tables(empty_database) >= EXPECTED_TABLES
    assert "views" not in _tables(empty_database)  # dead schema dropped by 0005

    command.downgrade(config, "0004")
    assert "views" in _tables(empty_database)
    command.upgrade(config, "head")

    command.downgrade(config, "base")
    assert _tables(empty_database) == set()

    command.upgrade(config, "head")
    assert _tables(empty_database) >= EXPECTED_TABLES


def test_models_match_migrated_schema(db_url):
    """Every ORM table and column exists in the migrated database (models and migrations agree)."""
    engine = create_engine(db_url)
    try:
        inspector = inspect(engine)
        for table in load_all_models().sorted_tables:
            columns = {c["name"] for c in inspector.get_columns(table.name)}
            assert {c.name for c in table.columns} <= columns, table.name
    finally:
        engine.dispose()


def test_seed_is_idempotent(db_url):
    from cinemaabyss.seed import seed

    assert seed() == {"users": 0, "movies": 0, "payments": 0, "subscriptions": 0}
