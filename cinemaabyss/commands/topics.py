"""``cinemaabyss topics ensure``: the domain topics (and their dead-letter topics) with N partitions.

The local stack creates its topics itself; a cluster's install runs this from the Helm chart's
topics Job with the chart's ``kafka.topics`` values (docs/performance.md: partitions are what
to add when the events grow).
"""

from __future__ import annotations

import click
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from eventing import topics
from eventing.kafka import client_config
from kernel.registry import TOPICS
from kernel.settings import get_settings


@click.group("topics")
def topics_group() -> None:
    """The domain topics on the Kafka cluster."""


@topics_group.command("ensure")
@click.option("--partitions", default=3, show_default=True, type=click.IntRange(1, 10_000),
              help="at least this many partitions per topic (existing topics are widened, never shrunk)")
@click.option("--replication-factor", default=-1, show_default=True, type=click.IntRange(-1, 32),
              help="for topics created now; -1: the broker's default")
def ensure_command(partitions: int, replication_factor: int) -> None:
    """Create the missing domain and dead-letter topics; widen the ones with fewer partitions."""
    admin = AdminClient(client_config(get_settings()))
    try:
        done = topics.ensure(admin, topics.wanted(TOPICS), partitions, replication_factor)
    except KafkaException as exc:
        raise click.ClickException(f"Kafka refused: {exc}") from None
    for topic in done.create:
        click.echo(f"created {topic} ({partitions} partitions)")
    for topic, (before, after) in done.grow.items():
        click.echo(f"widened {topic}: {before} -> {after} partitions (new messages of a key may land elsewhere)")
    for topic, count in done.wider.items():
        click.echo(f"kept {topic}: {count} partitions (more than asked; Kafka cannot shrink a topic)")
    if not (done.create or done.grow or done.wider):
        click.echo(f"every topic has {partitions} partitions")


commands = [topics_group]
