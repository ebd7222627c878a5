"""The ``cinemaabyss`` command: one entry point for operational tasks.

Each area keeps its commands in its own module under ``cinemaabyss/commands`` and is
registered in ``COMMAND_MODULES``; a module exposes ``commands`` (a list of click commands).
Commands print one clear line on failure (``click.ClickException``), never a traceback.
"""

from __future__ import annotations

import importlib

import click

from kernel.db import bind
from kernel.settings import get_settings

COMMAND_MODULES = [
    "cinemaabyss.commands.db",
    "cinemaabyss.commands.stack",
    "cinemaabyss.commands.config",
    "cinemaabyss.commands.flags",
    "cinemaabyss.commands.operators",
    "cinemaabyss.commands.outbox",
    "cinemaabyss.commands.users",
    "cinemaabyss.commands.rollout",
    "cinemaabyss.commands.drill",
    "cinemaabyss.commands.shadow",
    "cinemaabyss.commands.generate",
    "cinemaabyss.commands.topics",
]


@click.group(help="CinemaAbyss operations: database, stack, operators, flags.")
def main() -> None:
    """Top-level command group: the CLI's composition root binds the configured database."""
    bind(get_settings().database_url)


for _name in COMMAND_MODULES:
    # A module listed here must exist: a broken import fails the command loudly.
    for _command in importlib.import_module(_name).commands:
        main.add_command(_command)
