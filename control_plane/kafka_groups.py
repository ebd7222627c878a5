"""Consumer groups as the topic viewer shows them: lag (the kernel's), state and members.

Lag per partition and the age of the oldest unprocessed message come from the kernel's
:func:`domain_services.shared.consumer_lag.consumer_lag` (the same numbers as the events
service's ``/metrics``); this module adds what the broker says about each group (state,
members) and restricts the view to one topic when asked.
"""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import KafkaException

from control_plane.clients import KAFKA_TIMEOUT, kafka_admin
from control_plane.kafka_reader import KafkaUnavailable
from domain_services.shared.consumer_lag import LagUnavailable, PartitionLag, consumer_lag
from domain_services.shared.settings import Settings


@dataclass
class GroupSummary:
    """One consumer group: state, members and its lag on every partition it committed to."""

    group: str
    state: str
    members: list[str]
    partitions: list[PartitionLag]
    #: Change of the total lag since the oldest sample in the trend window (None: no sample yet).
    trend: int | None = None

    @property
    def total_lag(self) -> int:
        """Messages not yet consumed, over every partition."""
        return sum(p.lag for p in self.partitions)

    @property
    def oldest_age_s(self) -> float | None:
        """Age in seconds of the oldest message the group has not processed (None: caught up)."""
        ages = [p.oldest_age_s for p in self.partitions if p.oldest_age_s is not None]
        return max(ages) if ages else None

    @property
    def topics(self) -> list[str]:
        """Topics the group committed offsets on."""
        return sorted({p.topic for p in self.partitions})


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
            selected.append((lag, partitions))
    info = _describe([lag.group for lag, _ in selected])
    return [GroupSummary(lag.group, *info.get(lag.group, ("unknown", [])), partitions)
            for lag, partitions in sorted(selected, key=lambda item: item[0].group)]
