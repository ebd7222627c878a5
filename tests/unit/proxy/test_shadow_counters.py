"""The gateway's shadow bookkeeping in memory: path counters stay bounded, samples are rate-limited."""

from __future__ import annotations

from kernel.settings import load_settings
from proxy.shadow import SampleWriter, ShadowCounters
from strangler import shadow_contract as contract
from strangler.shadow_diff import Answer, Comparison, Difference, compare

NOW = 1_000_000.0


def _mismatch(path: str) -> Comparison:
    return Comparison((Difference(path, "value_changed", "1", "2", path),))


def test_a_comparison_counts_its_result_kind_and_each_normalized_path_once():
    counters = ShadowCounters("redis://127.0.0.1:1/0")
    outcome = compare(Answer(200, b'[{"a": 1}, {"a": 2}]'), Answer(200, b'[{"a": 3}, {"a": 4}]'))
    counters.comparison("movies", "mismatch", outcome, NOW)
    counters.comparison("movies", "match", Comparison(()), NOW)
    fields = counters._counts[contract.counts_key("movies", int(NOW) // 60)]
    assert dict(fields) == {"cmp:mismatch": 1, "cmp:match": 1, "kind:value_changed": 1,
                            contract.path_field("value_changed", "$[*].a"): 1}


def test_distinct_paths_per_minute_are_capped_and_the_rest_lumped_together():
    counters = ShadowCounters("redis://127.0.0.1:1/0")
    for n in range(contract.MAX_PATH_FIELDS + 50):
        counters.comparison("movies", "mismatch", _mismatch(f"$.field{n}"), NOW)
    fields = counters._counts[contract.counts_key("movies", int(NOW) // 60)]
    paths = [name for name in fields if name.startswith("path:")]
    assert len(paths) == contract.MAX_PATH_FIELDS + 1
    assert fields[contract.path_field("value_changed", contract.OTHER_PATH)] == 50


def test_samples_are_limited_per_domain_and_minute_and_cut_to_size():
    settings = load_settings({}, shadow_samples_per_minute=3, shadow_sample_body_bytes=4)
    writer = SampleWriter(settings)
    monolith, service = Answer(200, b'{"a": 1}'), Answer(200, b'{"a": 2}')
    offered = [writer.offer("movies", "/api/movies?id=1", "monolith", monolith, service, _mismatch("$.a"), NOW)
               for _ in range(5)]
    assert offered == [True, True, True, False, False]
    assert writer.offer("users", "/api/users/1", "monolith", monolith, service, _mismatch("$.a"), NOW)
    assert writer.offer("movies", "/api/movies?id=1", "monolith", monolith, service, _mismatch("$.a"), NOW + 60)
    sample = writer.queue.get_nowait()
    assert sample["monolith_body"] == '{"a"' and sample["truncated"] is True and sample["kind"] == "value_changed"
