"""Fuzz every operation of each deployment's ``/openapi.json`` with schemathesis: zero 5xx.

Positive (schema-valid) and negative (schema-violating) cases, bounded per operation so the
whole run stays well under two minutes.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

MAX_EXAMPLES = 50


def _runner(operation, mode: GenerationMode, report: dict):
    """A Hypothesis test calling ``operation`` with cases of ``mode``, recording any 5xx."""

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        response = case.call()
        report["examples"] += 1
        if response.status_code >= 500:
            report["failures"].append(
                f"{case.method} {case.formatted_path} {mode.value} -> {response.status_code}: "
                f"{response.text[:200]} (query={case.query}, body={case.body!r:.200})"
            )

    return run


def _fuzz(app) -> dict:
    """Run every operation in both modes; returns counters and the 5xx failures."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    report: dict = {"operations": 0, "examples": 0, "failures": []}
    for result in schema.get_all_operations():
        operation = result.ok()
        report["operations"] += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _runner(operation, mode, report)()
            except Unsatisfiable:
                # Nothing to violate (e.g. a health route without parameters): no negative cases.
                assert mode is GenerationMode.NEGATIVE
    return report


@pytest.mark.parametrize("deployment", ["monolith", "movies", "users", "payments"])
def test_fuzzing_the_openapi_document_finds_no_server_error(apps, deployment):
    report = _fuzz(apps[deployment])
    print(f"fuzz {deployment}: {report['operations']} operations, {report['examples']} examples, "
          f"{len(report['failures'])} failures")
    assert report["operations"] >= 4
    assert report["failures"] == []
