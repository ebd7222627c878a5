"""Sticky bucketing: reproducible (MurmurHash3 x86 32, seed 0), evenly spread, monotonic in percent."""

from __future__ import annotations

import mmh3

from proxy.bucketing import bucket, in_service
from proxy.routing import Flag


def test_bucket_is_murmur3_of_domain_and_key_mod_100():
    assert bucket("movies", "42") == mmh3.hash("movies:42", 0, signed=False) % 100
    # Reference value of MurmurHash3_x86_32("movies:42", seed 0), reproducible in any language.
    assert mmh3.hash("movies:42", 0, signed=False) == mmh3.hash(b"movies:42", 0, signed=False)


def test_distribution_at_30_percent_over_10000_users_is_within_2_points():
    hits = sum(in_service("movies", str(user_id), 30) for user_id in range(1, 10_001))
    assert 2800 <= hits <= 3200, hits


def test_same_user_always_gets_the_same_backend():
    decisions = {in_service("payments", "user-7", 50) for _ in range(100)}
    assert len(decisions) == 1


def test_raising_the_percent_never_moves_a_user_back_to_the_monolith():
    for user_id in range(2_000):
        key = str(user_id)
        on_service = [in_service("users", key, p) for p in range(0, 101, 5)]
        assert on_service == sorted(on_service), key  # False... then True..., never back


def test_sticky_key_order_user_then_header_then_client():
    flag = Flag("movies", mode="gradual", percent=50, sticky_key="user")
    ids = [str(i) for i in range(200)]
    assert all(flag.wants_service(i, "other", "1.2.3.4") == in_service("movies", i, 50) for i in ids)
    assert all(flag.wants_service(None, i, "1.2.3.4") == in_service("movies", i, 50) for i in ids)
    assert flag.wants_service(None, None, "10.0.0.9") == in_service("movies", "10.0.0.9", 50)
    by_client = Flag("movies", mode="gradual", percent=50, sticky_key="client")
    assert all(by_client.wants_service(i, i, "10.0.0.9") == in_service("movies", "10.0.0.9", 50) for i in ids)


def test_sticky_key_none_spreads_randomly():
    flag = Flag("movies", mode="gradual", percent=30, sticky_key="none")
    hits = sum(flag.wants_service("1", "1", "c") for _ in range(10_000))
    assert 2600 <= hits <= 3400


def test_modes_monolith_and_service_ignore_percent():
    assert not Flag("movies", mode="monolith", percent=100).wants_service("1", None, "c")
    assert Flag("movies", mode="service", percent=0).wants_service("1", None, "c")
