"""The metrics recorder: per-tick batching writes exactly what per-request writes would."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Histogram

from proxy import metrics

_domains = itertools.count()


def _domain() -> str:
    """A label value no other test uses (the Prometheus registry is process-wide)."""
    return f"test{next(_domains)}"


def _value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in registry.collect() for s in family.samples if not s.name.endswith("_created")}


def test_outside_an_event_loop_each_request_is_written_at_once():
    domain = _domain()
    recorder = metrics.Recorder()
    recorder.request(domain, "service", 503, 0.003, 1000)
    assert _value("proxy_requests_total", domain=domain, backend="service", status="5xx") == 1
    assert _value("proxy_request_duration_seconds_count", domain=domain, backend="service") == 1
    assert _value("proxy_request_duration_seconds_bucket", domain=domain, backend="service", le="0.005") == 1
    assert recorder.take_pending() == {1000: {f"{domain}:service:err": 1}}


def test_requests_of_one_loop_tick_are_written_together_on_the_next():
    domain = _domain()
    recorder = metrics.Recorder()

    async def scenario() -> tuple[float | None, float | None, float | None]:
        for seconds in (0.0004, 0.0009, 0.3):
            recorder.request(domain, "monolith", 200, seconds, 2000)
        before = _value("proxy_requests_total", domain=domain, backend="monolith", status="2xx")
        await asyncio.sleep(0)  # one loop iteration: the scheduled flush runs
        return (before, _value("proxy_requests_total", domain=domain, backend="monolith", status="2xx"),
                _value("proxy_request_duration_seconds_bucket", domain=domain, backend="monolith", le="0.001"))

    before, after, fast = asyncio.run(scenario())
    assert before is None  # nothing written on the hot path itself
    assert after == 3
    assert fast == 2
    assert _value("proxy_request_duration_seconds_sum", domain=domain, backend="monolith") == pytest.approx(0.3013)
    assert recorder.take_pending() == {2000: {f"{domain}:monolith:ok": 3}}


def test_one_flush_is_scheduled_per_tick():
    recorder = metrics.Recorder()
    flushes = 0
    original = recorder.flush_prometheus

    def counting() -> None:
        nonlocal flushes
        flushes += 1
        original()

    recorder.flush_prometheus = counting

    async def scenario() -> None:
        domain = _domain()
        for _ in range(50):
            recorder.request(domain, "service", 200, 0.001, 3000)
        await asyncio.sleep(0)
        recorder.request(domain, "service", 200, 0.001, 3000)
        await asyncio.sleep(0)

    asyncio.run(scenario())
    assert flushes == 2


def test_batched_histogram_exposition_equals_observe():
    amounts = [0.0001, 0.0005, 0.00050001, 0.001, 0.0011, 0.004, 0.05, 0.7, 2.5, 9.99, 10, 10.5, 120.0, 0.0005]
    registries = CollectorRegistry(), CollectorRegistry()
    one, batched = (Histogram("h", "test", ("domain",), buckets=metrics.LATENCY_BUCKETS, registry=r)
                    for r in registries)
    for amount in amounts:
        one.labels("d").observe(amount)
    metrics._observe_many(batched.labels("d"), amounts)
    expected, got = _samples(registries[0]), _samples(registries[1])
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value), key
