"""``cinemaabyss stack up|down|status|infra-up|logs|clean``: the no-Docker local stack."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps

import click

from cinemaabyss.stack.errors import StackError
from cinemaabyss.stack.orchestrator import Stack
from cinemaabyss.stack.paths import StackPaths
from kernel.settings import get_settings


def _one_line_errors(func: Callable[..., None]) -> Callable[..., None]:
    """Turn a StackError into click's one-line error (exit 1), never a traceback."""

    @wraps(func)
    def wrapper(*args: object, **kwargs: object) -> None:
        try:
            func(*args, **kwargs)
        except StackError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def _stack() -> Stack:
    return Stack(get_settings(), say=click.echo)


@click.group("stack", help="Local stack without Docker: PostgreSQL, Redis, Kafka and the app processes.")
def stack_group() -> None:
    """Command group."""


@stack_group.command("up")
@_one_line_errors
def up_command() -> None:
    """Start everything (idempotent), migrate, seed, print the URLs."""
    _stack().up()


@stack_group.command("infra-up")
@_one_line_errors
def infra_up_command() -> None:
    """Start PostgreSQL, Redis and Kafka, create topics, migrate (what the tests need)."""
    _stack().infra_up()


@stack_group.command("down")
@_one_line_errors
def down_command() -> None:
    """Stop every process this checkout's stack started."""
    _stack().down()


@stack_group.command("clean")
@_one_line_errors
def clean_command() -> None:
    """Stop everything and delete the stack's data (RUN_DIR and the PostgreSQL data)."""
    _stack().clean()


@stack_group.command("status")
@_one_line_errors
def status_command() -> None:
    """Show each service's state and address."""
    click.echo(_stack().format_table())


@stack_group.command("logs")
@click.argument("names", nargs=-1)
@click.option("-f", "--follow", is_flag=True, help="keep following (tail -F)")
@click.option("-n", "--lines", default=50, show_default=True, help="lines per log")
def logs_command(names: tuple[str, ...], follow: bool, lines: int) -> None:
    """Tail the logs (all, or those NAMES: postgres, redis, kafka, monolith, ...)."""
    logs = StackPaths.from_settings(get_settings()).logs
    files = sorted(logs.glob("*.log")) if not names else [logs / f"{n}.log" for n in names]
    files = [str(f) for f in files if f.exists()]
    if not files:
        raise click.ClickException(f"no logs under {logs}")
    argv = ["tail", "-n", str(lines), *(["-F"] if follow else []), *files]
    sys.stdout.flush()
    os.execvp("tail", argv)  # noqa: S606 -- hand the terminal to tail: Ctrl-C ends it cleanly


commands = [stack_group]
