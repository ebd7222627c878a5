"""``cinemaabyss flags list|set|rollback|history``: strangler flags for people without the console."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from typing import Any

import click
import redis
from sqlalchemy.exc import OperationalError

from kernel.errors import DomainError
from kernel.registry import FLAGGED
from kernel.settings import get_settings
from strangler import flags as flag_store
from strangler.flag_contract import FIELDS, FlagField

DOMAIN = click.Choice(FLAGGED)


def actor() -> str:
    """``cli:<os user>``: who the audit row names (every strangler command writes it)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}"


def run(func, *args, **kwargs):
    """Call a strangler function, turning domain and connection errors into one-line CLI errors.

    Shared by the flag, rollout and shadow commands.
    """
    try:
        return func(*args, **kwargs)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    except OperationalError as exc:
        raise click.ClickException(f"cannot reach the database: {exc.orig}") from None
    except redis.RedisError as exc:
        raise click.ClickException(f"cannot reach Redis: {exc}") from None


def _line(flag: dict) -> str:
    return (f"{flag['domain']:<9} {flag['mode']:<9} {flag['percent']:>3}%  sticky={flag['sticky_key']:<6} "
            f"fallback={'on' if flag['fallback'] else 'off':<3} "
            f"auto_rollback={'on' if flag['auto_rollback'] else 'off'}"
            f"@{flag['rollback_error_rate']:g}/{flag['rollback_min_requests']}"
            f"|{flag['rollback_consecutive']} in a row shadow={flag['shadow_percent']}%"
            f"{'' if flag['persisted'] else '  (default)'}")


def _field_option(spec: FlagField) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--<field>`` for one declared flag field (``--x/--no-x`` for a boolean)."""
    option = f"--{spec.name.replace('_', '-')}"
    if spec.kind == "bool":
        return click.option(f"{option}/--no-{option[2:]}", spec.name, default=None, help=spec.help)
    # a rate is checked by strangler.flags (its message names the field, as the console's does)
    types = {"choice": lambda: click.Choice(spec.choices), "int": lambda: click.IntRange(spec.low, spec.high),
             "rate": lambda: click.FLOAT}
    return click.option(option, spec.name, type=types[spec.kind](), help=spec.help)


def _field_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """One option per field of the flag contract (:data:`strangler.flag_contract.FIELDS`), in its order."""
    for spec in reversed(FIELDS):
        command = _field_option(spec)(command)
    return command


@click.group("flags")
def flags_group() -> None:
    """Strangler flags: where the proxy routes each domain."""


@flags_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def list_command(as_json: bool) -> None:
    """Show every domain's flag."""
    rows = run(flag_store.list_flags, settings=get_settings())
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(_line(row))


@flags_group.command("set")
@click.argument("domain", type=DOMAIN)
@_field_options
@click.option("--reason", help="why (kept in the audit log)")
def set_command(domain: str, reason: str | None, **options) -> None:
    """Change DOMAIN's flag; every proxy applies it within milliseconds."""
    changes = {name: value for name, value in options.items() if value is not None}
    if not changes:
        raise click.UsageError("nothing to change: give at least one option")
    flag = run(flag_store.set_flag, domain, changes, actor(), reason, settings=get_settings())
    click.echo(_line(flag))


@flags_group.command("rollback")
@click.argument("domain", type=DOMAIN)
@click.option("--reason", default="manual rollback", show_default=True)
def rollback_command(domain: str, reason: str) -> None:
    """Send all of DOMAIN's traffic back to the monolith."""
    flag = run(flag_store.rollback, domain, actor(), reason, settings=get_settings())
    click.echo(_line(flag))


@flags_group.command("history")
@click.argument("domain", type=DOMAIN, required=False)
@click.option("--limit", default=20, show_default=True)
def history_command(domain: str | None, limit: int) -> None:
    """Recent flag changes, newest first."""
    for entry in run(flag_store.flag_history, domain, limit):
        after = entry["after"] or {}
        click.echo(f"{entry['at']}  {entry['actor']:<24} {entry['action']:<18} {entry['domain']:<9} "
                   f"{after.get('mode', '-')}/{after.get('percent', '-')}%  {entry['reason'] or ''}")


commands = [flags_group]
