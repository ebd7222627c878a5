"""``cinemaabyss topics ensure`` and ``eventing.topics.ensure`` against the real broker."""

from __future__ import annotations

import uuid

from click.testing import CliRunner
from confluent_kafka.admin import AdminClient

from cinemaabyss.cli import main
from eventing import topics
from kernel.registry import TOPICS
from tests.support.processes import wait_until


def _partitions(admin: AdminClient, name: str) -> int:
    return len(admin.list_topics(name, timeout=10).topics[name].partitions)


def _all_have(admin: AdminClient, names, count: int) -> bool:
    """Whether the broker's metadata shows ``count`` partitions for each of ``names`` — polled:
    metadata reaches the broker's cache a moment after the admin call returns."""
    return bool(wait_until(lambda: all(_partitions(admin, t) == count for t in names), timeout=15,
                           message=f"{count} partitions"))


def test_topics_are_created_then_widened_and_never_shrunk(kafka_brokers):
    admin = AdminClient({"bootstrap.servers": kafka_brokers})
    names = [f"ensure-{uuid.uuid4().hex[:8]}"]
    wanted = topics.wanted(names)
    try:
        first = topics.ensure(admin, wanted, 2)
        assert set(first.create) == set(wanted)
        assert _all_have(admin, wanted, 2)
        wider = topics.ensure(admin, wanted, 4)
        assert dict(wider.grow) == {t: (2, 4) for t in wanted}
        assert _all_have(admin, wanted, 4)
        narrower = topics.ensure(admin, wanted, 1)
        assert dict(narrower.wider) == {t: 4 for t in wanted} and not narrower.grow
        assert _all_have(admin, wanted, 4)
    finally:
        admin.delete_topics(list(wanted))


def test_the_command_leaves_the_domain_topics_it_finds_complete(kafka_brokers):
    admin = AdminClient({"bootstrap.servers": kafka_brokers})
    found = [len(t.partitions) for n, t in admin.list_topics(timeout=10).topics.items() if n in TOPICS]
    current = min(found) if found else 3  # the count they have: nothing is widened here
    result = CliRunner().invoke(main, ["topics", "ensure", f"--partitions={current}"])
    assert result.exit_code == 0, result.output
    names = admin.list_topics(timeout=10).topics
    assert all(t in names and f"{t}.dlq" in names for t in TOPICS)
