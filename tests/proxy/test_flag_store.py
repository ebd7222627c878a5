"""The shared flag store: validation, audit row and NOTIFY in one transaction, env seeding."""

from __future__ import annotations

import psycopg
import pytest
from click.testing import CliRunner

from cinemaabyss.commands.flags import flags_group
from kernel.errors import InvalidInput
from kernel.settings import load_settings
from strangler import flags
from tests.proxy.conftest import libpq_url


def test_initial_flags_seed_movies_from_legacy_env():
    seeded = flags.initial_flags(load_settings({"GRADUAL_MIGRATION": "true", "MOVIES_MIGRATION_PERCENT": "30"}))
    assert seeded["movies"]["mode"] == "gradual" and seeded["movies"]["percent"] == 30
    assert seeded["users"]["mode"] == "monolith"
    plain = flags.initial_flags(load_settings({}))
    assert plain["movies"]["mode"] == "monolith" and plain["movies"]["percent"] == 0


def test_list_flags_gives_defaults_when_no_row(clean_flags, db_url):
    rows = flags.list_flags(url=db_url)
    assert [r["domain"] for r in rows] == ["movies", "users", "payments"]
    assert all(r["mode"] == "monolith" and not r["persisted"] for r in rows)


@pytest.mark.parametrize("changes", [
    {"mode": "sideways"}, {"percent": 101}, {"percent": -1}, {"percent": "x"}, {"sticky_key": "cookie"},
    {"rollback_error_rate": 0}, {"rollback_error_rate": 1.5}, {"rollback_min_requests": 0},
    {"shadow_percent": 200}, {"fallback": "maybe"}, {"colour": "red"},
])
def test_set_flag_rejects_invalid_values(clean_flags, db_url, changes):
    with pytest.raises(InvalidInput):
        flags.set_flag("movies", changes, "test", url=db_url)


def test_set_flag_rejects_unknown_domain(clean_flags, db_url):
    with pytest.raises(InvalidInput):
        flags.set_flag("tickets", {"mode": "service"}, "test", url=db_url)


def test_set_flag_writes_row_audit_and_notifies_on_commit(clean_flags, db_url):
    with psycopg.connect(libpq_url(db_url), autocommit=True) as listener:
        listener.execute("LISTEN migration_flags")
        flag = flags.set_flag("movies", {"mode": "gradual", "percent": 30}, "test:alice", "canary", url=db_url)
        note = next(listener.notifies(timeout=5))
    assert note.channel == "migration_flags" and note.payload == "movies"
    assert flag["mode"] == "gradual" and flag["percent"] == 30 and flag["updated_by"] == "test:alice"
    assert flags.get_flag("movies", url=db_url)["percent"] == 30
    entry = flags.flag_history("movies", limit=1, url=db_url)[0]
    assert entry["action"] == "flag.changed" and entry["actor"] == "test:alice" and entry["reason"] == "canary"
    assert entry["before"]["mode"] == "monolith" and entry["after"]["percent"] == 30


def test_rollback_returns_domain_to_monolith(clean_flags, db_url):
    flags.set_flag("users", {"mode": "service"}, "test", url=db_url)
    flag = flags.rollback("users", "test:bob", url=db_url)
    assert flag["mode"] == "monolith" and flag["percent"] == 0
    assert flags.flag_history("users", limit=1, url=db_url)[0]["reason"] == "manual rollback"


def test_cli_set_list_and_rollback(clean_flags, db_url):
    runner = CliRunner()
    result = runner.invoke(flags_group, ["set", "payments", "--mode", "gradual", "--percent", "15",
                                         "--reason", "cli test"])
    assert result.exit_code == 0, result.output
    assert "payments  gradual    15%" in result.output
    assert "gradual" in runner.invoke(flags_group, ["list"]).output
    assert runner.invoke(flags_group, ["rollback", "payments"]).exit_code == 0
    assert flags.get_flag("payments", url=db_url)["mode"] == "monolith"
    assert flags.flag_history("payments", limit=2, url=db_url)[1]["actor"].startswith("cli:")
    bad = runner.invoke(flags_group, ["set", "payments", "--rollback-error-rate", "3"])
    assert bad.exit_code != 0 and "rollback_error_rate" in bad.output
