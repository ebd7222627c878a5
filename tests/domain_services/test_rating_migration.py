"""Migration 0006 moves what users think out of the editorial ``rating`` into ``user_rating`` and ``votes``."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from cinemaabyss.commands.db import alembic_config
from tests.support.databases import throwaway_database


@pytest.fixture
def database_at_0005(db_url):
    """A brand-new database migrated to 0005 (before the split), dropped afterwards."""
    with throwaway_database(db_url, "rating") as url:
        config = alembic_config(url)
        config.attributes["configure_logging"] = False
        command.upgrade(config, "0005")
        yield url, config


def test_existing_user_ratings_become_user_rating_and_votes(database_at_0005):
    url, config = database_at_0005
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            users = [conn.execute(text("INSERT INTO users (username, email) VALUES (:n, :e) RETURNING id"),
                                  {"n": f"u{i}", "e": f"u{i}@x.io"}).scalar_one() for i in range(3)]
            rated, unrated = (conn.execute(text("INSERT INTO movies (title, rating) VALUES (:t, 8.0) RETURNING id"),
                                           {"t": title}).scalar_one() for title in ("rated", "unrated"))
            for user_id, stars in zip(users, (7, 8, 8), strict=True):
                conn.execute(text("INSERT INTO user_ratings (user_id, movie_id, rating) VALUES (:u, :m, :r)"),
                             {"u": user_id, "m": rated, "r": stars})
        command.upgrade(config, "0006")
        with engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT id, (rating, user_rating, votes)::text FROM movies")).all())
        assert rows[rated] == "(8.0,7.7,3)"  # 23 / 3 = 7.67 → 7.7; the editorial 8.0 stays
        assert rows[unrated] == "(8.0,,0)"
        command.downgrade(config, "0005")
    finally:
        engine.dispose()
