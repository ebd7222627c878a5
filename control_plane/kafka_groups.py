"""Consumer groups as the topic viewer shows them: lag (the kernel's), state and members.

Lag per partition and the age of the oldest unprocessed message come from the kernel's
:func:`eventing.consumer_lag.consumer_lag` (the same numbers as the events
service's ``/metrics``); this module adds what the broker says about each group (state,
members) and restricts the view to one topic when asked.
"""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import KafkaException

from control_plane.clients import KAFKA_TIMEOUT, kafka_admin
from control_plane.kafka_reader import KafkaUnavailable
from eventing.consumer_lag import GroupLag, LagUnavailable, PartitionLag, consumer_lag
from kernel.settings import Settings


@dataclass
class GroupSummary:
    """One consumer group: state, members and its lag (the kernel's :class:`GroupLag`, restricted
    to the partitions on view)."""

    lag: GroupLag
    state: str
    members: list[str]
    #: Change of the total lag since the oldest sample in the trend window (None: no sample yet).
    trend: int | None = None

    @property
    def group(self) -> str:
        """The group's id."""
        return self.lag.group

    @property
    def partitions(self) -> tuple[PartitionLag, ...]:
        """Its partitions on view, by topic and partition."""
        return self.lag.partitions

    @property
    def total_lag(self) -> int:
        """Messages not yet consumed, over every partition on view."""
        return self.lag.lag

    @property
    def oldest_age_s(self) -> float | None:
        """Age in seconds of the oldest message the group has not processed (None: caught up)."""
        return self.lag.oldest_age_s

    @property
    def topics(self) -> list[str]:
        """Topics the group committed offsets on."""
        return self.lag.topics()


def _describe(groups: list[str]) -> dict[str, tuple[str, list[str]]]:
    """``{group: (state, members)}`` from the broker."""
    if not groups:
        return {}
    try:
        futures = kafka_admin().describe_consumer_groups(groups, request_timeout=KAFKA_TIMEOUT)
        described = {g: f.result(timeout=KAFKA_TIMEOUT + 1) for g, f in futures.items()}
    except KafkaException as exc:
        raise KafkaUnavailable(str(exc)) from None
    return {g: (getattr(d.state, "name", "unknown").lower(), [f"{m.client_id} ({m.host})" for m in d.members])
            for g, d in described.items()}


def group_summaries(settings: Settings, topic: str | None = None) -> list[GroupSummary]:
    """Every pipeline consumer group (optionally only those committed on ``topic``), with state and members."""
    try:
        lags = consumer_lag(settings)
    except LagUnavailable as exc:
        raise KafkaUnavailable(str(exc)) from None
    selected = []
    for lag in lags:
        partitions = sorted((p for p in lag.partitions if topic is None or p.topic == topic),
                            key=lambda p: (p.topic, p.partition))
        if partitions:
            selected.append(GroupLag(lag.group, tuple(partitions)))
    info = _describe([lag.group for lag in selected])
    return [GroupSummary(lag, *info.get(lag.group, ("unknown", [])))
            for lag in sorted(selected, key=lambda lag: lag.group)]
