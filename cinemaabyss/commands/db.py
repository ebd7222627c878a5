"""``cinemaabyss migrate`` and ``cinemaabyss seed``."""

from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from sqlalchemy.exc import OperationalError

from kernel.settings import PROJECT_ROOT


def alembic_config(url: str | None = None) -> Config:
    """Alembic configuration for this project (URL from settings unless given)."""
    config = Config(str(Path(PROJECT_ROOT) / "alembic.ini"))
    config.set_main_option("script_location", str(Path(PROJECT_ROOT) / "migrations"))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@click.command("migrate")
@click.option("--revision", default="head", show_default=True, help="target revision")
def migrate_command(revision: str) -> None:
    """Upgrade the database schema (the only way the schema changes)."""
    try:
        command.upgrade(alembic_config(), revision)
    except OperationalError as exc:
        raise click.ClickException(f"cannot reach the database: {exc.orig}") from None
    click.echo(f"database at {revision}")


@click.command("seed")
def seed_command() -> None:
    """Insert the legacy seed data (idempotent)."""
    from cinemaabyss.seed import seed

    try:
        added = seed()
    except OperationalError as exc:
        raise click.ClickException(f"cannot reach the database: {exc.orig}") from None
    click.echo("seed: " + ", ".join(f"{n} {name} added" for name, n in added.items()))


commands = [migrate_command, seed_command]
