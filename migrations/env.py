"""Alembic environment: URL from settings, timeouts, and an advisory lock.

Several processes may start at once (``make up``, test workers); the advisory lock makes the
second one wait and then find nothing to do, instead of racing the first.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, text

from cinemaabyss.schema import load_all_models
from kernel.settings import get_settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = load_all_models()
MIGRATION_LOCK_ID = 0x0C1AEA55


def run_migrations_online() -> None:
    """Run migrations against ``sqlalchemy.url`` (if set by the caller) or ``DATABASE_URL``."""
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = create_engine(url)
    with engine.connect() as connection:
        connection.execute(text("SET lock_timeout = '30s'"))
        connection.execute(text("SET statement_timeout = '300s'"))
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        connection.commit()
        try:
            context.configure(connection=connection, target_metadata=target_metadata)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()
    engine.dispose()


run_migrations_online()
