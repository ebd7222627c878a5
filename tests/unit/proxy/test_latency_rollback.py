"""The latency rule of the automatic rollback: service p99 against the monolith's, with witnesses."""

from __future__ import annotations

from proxy.latency import Histogram, LatencyWatch
from proxy.rollback import AutoRollback
from proxy.routing import Flag

FLAG = Flag(domain="movies", mode="gradual", percent=50, rollback_min_requests=20)


def test_p99_is_the_bound_of_the_bucket_holding_it():
    histogram = Histogram()
    for i in range(100):
        histogram.add(100, 0.004 if i < 99 else 2.0)
    assert histogram.p99(100) == (100, 0.005)
    histogram.add(100, 2.0)
    assert histogram.p99(100) == (101, 2.5)
    assert histogram.p99(111) == (0, 0.0), "older than the window"


def _feed(watch: LatencyWatch, second: int, service: float, callers: int, monolith: float = 0.004) -> None:
    for i in range(30):
        watch.add("movies", "monolith", monolith, second, "anon:10.0.0.1")
        watch.add("movies", "service", service, second, f"user:{i % callers}")


def test_a_slow_service_seen_by_several_callers_trips():
    watch = LatencyWatch(witnesses=3)
    _feed(watch, 100, 0.2, callers=5)
    assert watch.verdict("movies", 100, 20, 3.0) is None, "the first check only learns the bound"
    _feed(watch, 101, 0.2, callers=5)
    reason = watch.verdict("movies", 101, 20, 3.0)
    assert reason is not None and "service p99 250 ms over 3 x the monolith's 5 ms" in reason


def test_one_callers_slow_requests_never_trip():
    watch = LatencyWatch(witnesses=3)
    for second in range(100, 110):
        _feed(watch, second, 0.2, callers=1)
        assert watch.verdict("movies", second, 20, 3.0) is None


def test_a_service_within_the_bound_or_without_enough_answers_never_trips():
    watch = LatencyWatch(witnesses=3)
    for second in range(100, 105):
        _feed(watch, second, 0.009, callers=5)  # 10 ms bucket: 2 x the monolith's 5 ms
        assert watch.verdict("movies", second, 20, 3.0) is None
    sparse = LatencyWatch(witnesses=3)
    for second in range(100, 105):
        _feed(sparse, second, 0.2, callers=5)
        assert sparse.verdict("movies", second, 1000, 3.0) is None


class _Recording(AutoRollback):
    def __init__(self, p99_percent: int = 300) -> None:
        super().__init__(cache=None, witnesses=3, p99_percent=p99_percent)  # type: ignore[arg-type]
        self.triggered: list[str] = []

    def trigger(self, flag: Flag, reason: str) -> None:
        self.triggered.append(reason)
        self.latencies.clear(flag.domain)


def _slow_service(rollback: _Recording, flag: Flag) -> None:
    for second in (100, 101, 102):  # learn the bound, then see slow answers above it, then judge
        for i in range(30):
            rollback.latency("movies", "monolith", 0.004, second, flag, "anon:10.0.0.1")
            rollback.latency("movies", "service", 0.3, second, flag, f"user:{i % 4}")


def test_the_rollback_acts_on_the_gateways_latency_bound():
    rollback = _Recording(p99_percent=300)
    _slow_service(rollback, FLAG)
    assert len(rollback.triggered) == 1 and rollback.triggered[0].startswith("auto-rollback: service p99")
    assert "over 3 x" in rollback.triggered[0]


def test_without_a_bound_anywhere_the_latency_rule_is_off():
    rollback = _Recording(p99_percent=0)
    _slow_service(rollback, FLAG)
    assert rollback.triggered == []


def test_a_flags_own_bound_wins_over_the_gateways():
    own = Flag(domain="movies", mode="gradual", percent=50, rollback_min_requests=20, rollback_p99_percent=200)
    rollback = _Recording(p99_percent=0)  # the gateway sets none: the flag's bound alone trips it
    _slow_service(rollback, own)
    assert len(rollback.triggered) == 1 and "over 2 x" in rollback.triggered[0]
    lenient = Flag(domain="movies", mode="gradual", percent=50, rollback_min_requests=20,
                   rollback_p99_percent=10_000)  # 100 x: the 300 ms service is within it
    rollback = _Recording(p99_percent=300)
    _slow_service(rollback, lenient)
    assert rollback.triggered == []
