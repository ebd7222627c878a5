"""Migration 0006 moves what users think out of the editorial ``rating`` into ``user_rating`` and ``votes``."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cinemaabyss.commands.db import alembic_config


@pytest.fixture
def database_at_0005(db_url):
    """A brand-new database migrated to 0005 (before the split), dropped afterwards."""
    name = f"rating_{uuid.uuid4().hex[:10]}"
    admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(db_url).set(database=name).render_as_string(hide_password=False)
    config = alembic_config(url)
    config.attributes["configure_logging"] = False
    command.upgrade(config, "0005")
    try:
        yield url, config
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
