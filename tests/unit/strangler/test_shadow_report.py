"""Shadow counters as Redis holds them: per-second gate fields, per-minute path counts, A/A noise."""

from __future__ import annotations

import pytest

from strangler import shadow_contract as contract
from strangler.rollout_gates import shadow_field
from strangler.shadow_diff import IGNORE, ORDER_INSENSITIVE, Rule
from strangler.shadow_report import read_counts, read_noise, shadow_window


class FakeRedis:
    """The few Redis calls the readers make, over a dict of hashes."""

    def __init__(self, hashes: dict[str, dict[bytes, bytes]]) -> None:
        self.hashes = hashes
        self.queued: list = []

    def pipeline(self, transaction: bool = False) -> FakeRedis:
        return self

    def hmget(self, key: str, names: list[str]) -> None:
        self.queued.append([self.hashes.get(key, {}).get(n.encode()) for n in names])

    def hgetall(self, key: str):
        self.queued.append(dict(self.hashes.get(key, {})))
        return self.hashes.get(key, {})

    def execute(self) -> list:
        done, self.queued = self.queued, []
        return done


def test_shadow_window_sums_the_gateways_per_second_fields_over_the_window_only():
    now = 1_000_000
    hashes = {f"traffic:{now - age}": {shadow_field("movies", "match").encode(): b"9",
                                       shadow_field("movies", "mismatch").encode(): b"1",
                                       shadow_field("users", "mismatch").encode(): b"5"} for age in range(20)}
    hashes[f"traffic:{now - 5}"][shadow_field("movies", "error").encode()] = b"2"
    window = shadow_window(FakeRedis(hashes), "movies", 10, now=now)
    assert (window.matches, window.mismatches, window.errors) == (90, 10, 2)
    assert window.comparisons == 100 and window.mismatch_rate == pytest.approx(0.1)
    assert shadow_window(FakeRedis({}), "movies", 60, now=now).mismatch_rate == 0.0


def test_read_counts_adds_up_minutes_by_result_kind_and_path():
    minute = 1_000_000 // 60
    one = {b"cmp:match": b"90", b"cmp:mismatch": b"10", b"kind:value_changed": b"10",
           contract.path_field("value_changed", "$[*].title").encode(): b"10"}
    two = {b"cmp:mismatch": b"5", contract.path_field("value_changed", "$[*].title").encode(): b"3",
           contract.path_field("missing", "$.a:b").encode(): b"2"}
    hashes = {contract.counts_key("movies", minute): one, contract.counts_key("movies", minute - 1): two,
              contract.counts_key("movies", minute - 9): {b"cmp:mismatch": b"1000"}}
    counts = read_counts(FakeRedis(hashes), "movies", 5, now=minute * 60)
    assert counts.compared == 105 and counts.mismatch_rate == pytest.approx(15 / 105)
    assert counts.paths == {("$[*].title", "value_changed"): 13, ("$.a:b", "missing"): 2}


def test_read_noise_suggests_rules_for_paths_seen_in_two_pairs():
    fields = {b"pairs": b"7", contract.noise_field("value_changed", "$.served_at").encode(): b"7",
              contract.noise_field("array_order_only", "$.tags").encode(): b"3",
              contract.noise_field("value_changed", "$.once").encode(): b"1"}
    noise = read_noise(FakeRedis({contract.noise_key("movies"): fields}), "movies")
    assert noise.pairs == 7
    assert noise.suggestions == [Rule("$.served_at", IGNORE), Rule("$.tags", ORDER_INSENSITIVE)]
