"""The domain topics and their partitions: what exists, what to create, what to widen.

Partitions are the unit of parallelism of every consumer group (one consumer per partition
at most), so the partition count is the knob to turn at ten times the events
(docs/performance.md). :func:`plan` is the pure decision; :func:`ensure` applies it against a
broker. Partitions can only grow: Kafka cannot shrink a topic, and growing one moves keys to
other partitions from then on (order per key holds for new messages; a consumer may see a
key's next message on another partition before it finished the old one's).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

from eventing.dead_letters import dead_letter_topic


@dataclass(frozen=True)
class TopicPlan:
    """What :func:`ensure` will do."""

    create: tuple[str, ...] = ()
    #: topic → (partitions now, partitions after)
    grow: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    #: topics with more partitions than asked (Kafka cannot shrink them): left as they are
    wider: Mapping[str, int] = field(default_factory=dict)


def wanted(topics: Iterable[str]) -> tuple[str, ...]:
    """Each domain topic and its dead-letter topic."""
    return tuple(name for topic in topics for name in (topic, dead_letter_topic(topic)))


def plan(existing: Mapping[str, int], topics: Iterable[str], partitions: int) -> TopicPlan:
    """What to create and widen so every topic in ``topics`` has at least ``partitions``
    partitions; ``existing`` maps each topic on the broker to its partition count."""
    if partitions < 1:
        raise ValueError("partitions must be at least 1")
    create, grow, wider = [], {}, {}
    for topic in topics:
        count = existing.get(topic)
        if count is None:
            create.append(topic)
        elif count < partitions:
            grow[topic] = (count, partitions)
        elif count > partitions:
            wider[topic] = count
    return TopicPlan(tuple(create), grow, wider)


def ensure(admin: AdminClient, topics: Iterable[str], partitions: int, replication_factor: int = -1,
           timeout: float = 30.0) -> TopicPlan:
    """Create and widen ``topics`` as :func:`plan` says; returns the plan carried out.

    ``replication_factor`` -1: the broker's default.
    """
    metadata = admin.list_topics(timeout=timeout).topics
    todo = plan({name: len(t.partitions) for name, t in metadata.items()}, topics, partitions)
    futures = {}
    if todo.create:
        futures.update(admin.create_topics(
            [NewTopic(t, num_partitions=partitions, replication_factor=replication_factor) for t in todo.create],
            request_timeout=timeout))
    if todo.grow:
        futures.update(admin.create_partitions([NewPartitions(t, after) for t, (_, after) in todo.grow.items()],
                                               request_timeout=timeout))
    for future in futures.values():
        try:
            future.result(timeout)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):  # a concurrent run won the race
                raise
    return todo
