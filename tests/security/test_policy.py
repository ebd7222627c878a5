"""The policy table (pure): the authorization matrix, modes, open doors, pattern matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy import policy
from tests.security.matrix import MATRIX, cases


@pytest.mark.parametrize(("method", "path", "role", "status"), cases())
def test_matrix(method, path, role, status):
    verdict = policy.verdict(policy.rule_for(method, path), role, "writes")
    assert (verdict or 200) == status


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/api/movies", 401), ("GET", "/api/users", 401), ("GET", "/elsewhere", 401),
    ("GET", "/api/movies/health", 200), ("POST", "/api/auth/login", 200), ("POST", "/api/users", 200),
])
def test_mode_all_refuses_anonymous_callers_but_at_open_doors(method, path, status):
    assert (policy.verdict(policy.rule_for(method, path), "anonymous", "all") or 200) == status


def test_mode_off_enforces_nothing():
    for method, path, _ in MATRIX:
        for role in ("anonymous", "user"):
            assert policy.verdict(policy.rule_for(method, path), role, "off") == policy.ALLOWED


@pytest.mark.parametrize("path", ["/api/auth/login", "/api/auth/register", "/api/auth/refresh"])
def test_sign_in_paths_are_open_doors(path):
    assert policy.rule_for("POST", path).open_door
    assert not policy.rule_for("POST", "/api/auth/logout").open_door
    assert not policy.rule_for("GET", "/api/users").open_door


@pytest.mark.parametrize(("path", "pattern"), [
    ("/api/moviesX", "/**"),            # prefixes match whole segments only
    ("/api/movies/", "/api/movies/**"),
    ("/api/movies/1/ratings/", "/api/movies/*/ratings/**"),
    ("/api/movies/1/2/ratings", "/api/movies/**"),  # '*' is exactly one segment
    ("/api/users/", "/api/users"),      # sign-up, with or without the trailing slash
])
def test_patterns_match_whole_segments(path, pattern):
    assert policy.rule_for("POST", path).pattern == pattern


def test_every_role_in_the_table_is_known():
    known = set(policy.ANYONE)
    for rule in (*policy.RULES, policy.DEFAULT_READ, policy.DEFAULT_WRITE):
        assert rule.roles <= known and rule.methods <= policy.EVERY
    assert [row[0] for row in policy.table()][:1] == ["/api/movies/health"]


def test_docs_print_the_table_as_it_is():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    for number, (pattern, methods, who) in enumerate(policy.table(), 1):
        assert f"| {number} | `{pattern}` | {methods} | {who} |" in docs, pattern
