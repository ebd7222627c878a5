"""``cinemaabyss outbox status|relay``: the outbox backlog for people without the console."""

from __future__ import annotations

import json

import click
from sqlalchemy.exc import OperationalError

from eventing.outbox_stats import outbox_stats


@click.group("outbox")
def outbox_group() -> None:
    """The transactional outbox and its relay to Kafka."""


@outbox_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def status_command(as_json: bool) -> None:
    """Pending events, the oldest pending event's age, events published in the last minute."""
    try:
        stats = outbox_stats()
    except OperationalError as exc:
        raise click.ClickException(f"cannot reach the database: {exc.orig}") from None
    if as_json:
        click.echo(json.dumps(stats))
        return
    age = stats["oldest_pending_age_seconds"]
    click.echo(f"pending: {stats['pending']}")
    click.echo(f"oldest pending age: {'-' if age is None else f'{age:.1f}s'}")
    click.echo(f"published in the last minute: {stats['published_last_minute']}")


@outbox_group.command("nudge")
def nudge_command() -> None:
    """Ask the worker to relay now (instead of waiting for the next one-second sweep)."""
    from kernel.relay_nudge import RelayNudge
    from kernel.settings import get_settings

    if not RelayNudge(get_settings().redis_url).send_now():
        raise click.ClickException("could not reach the Celery broker (Redis)")
    click.echo("relay task sent")


commands = [outbox_group]
