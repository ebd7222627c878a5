"""Fixed-window counters: atomic take-then-check, and the in-process fallback when Redis is down."""

from __future__ import annotations

from kernel.rate_limit import LocalCounter, WindowCounter, redis_for_limits


def test_counter_falls_back_to_process_memory_when_redis_is_down():
    clock = [0.0]
    counter = WindowCounter(redis_for_limits("redis://127.0.0.1:1/0"), "t:", limit=2, window=300,
                            local=LocalCounter(lambda: clock[0]))
    assert [counter.take("a").allowed for _ in range(3)] == [True, True, False]
    assert counter.take("b").allowed
    refused = counter.take("a")
    assert refused.retry_after == 300 and refused.count == 4
    clock[0] += 301  # the window has passed
    assert counter.take("a").allowed


def test_reset_starts_a_key_afresh():
    counter = WindowCounter(redis_for_limits("redis://127.0.0.1:1/0"), "t:", limit=1, window=60,
                            local=LocalCounter(lambda: 0.0))
    assert counter.take("a").allowed and not counter.take("a").allowed
    counter.reset("a")
    assert counter.take("a").allowed


def test_give_back_returns_one_take_within_the_window():
    counter = WindowCounter(redis_for_limits("redis://127.0.0.1:1/0"), "t:", limit=1, window=60,
                            local=LocalCounter(lambda: 0.0))
    assert counter.take("a").allowed
    counter.give_back("a")
    assert counter.take("a").allowed and not counter.take("a").allowed
