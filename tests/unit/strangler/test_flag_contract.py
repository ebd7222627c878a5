"""The flag contract's change protocol, driven by a fake connection (no database)."""

from __future__ import annotations

import asyncio

import pytest

from kernel import registry
from strangler import flag_contract as contract


class FakeFlagTable:
    """Executes the contract's statements against an in-memory migration_flags/flag_audit."""

    def __init__(self, rows: dict[str, dict] | None = None) -> None:
        self.rows = rows or {}
        self.audit: list[dict] = []
        self.notified: list[tuple[str, str]] = []

    def _row(self, domain: str) -> tuple:
        flag = self.rows[domain]
        return (*[flag[n] for n in contract.FLAG_FIELDS], "2026-01-01", flag.get("updated_by", "system"))

    def execute(self, sql: str, params) -> tuple | None:
        domain = params.get("domain")
        if sql == contract.ENSURE_ROW:
            self.rows.setdefault(domain, {n: params[n] for n in contract.FLAG_FIELDS})
            return None
        if sql == contract.LOCK_ROW:
            return self._row(domain)
        if sql.startswith("UPDATE migration_flags"):
            self.rows[domain].update({n: params[n] for n in contract.FLAG_FIELDS if n in params},
                                     updated_by=params["actor"])
            return self._row(domain)
        if sql == contract.INSERT_AUDIT:
            self.audit.append({k: getattr(v, "obj", v) for k, v in params.items()})
            return None
        if sql == contract.NOTIFY:
            self.notified.append((params["channel"], domain))
            return None
        raise AssertionError(f"unexpected statement {sql}")


INITIAL = contract.initial_flags()["movies"]


def test_a_change_creates_the_row_writes_audit_and_notifies():
    table = FakeFlagTable()
    steps = contract.change_steps("movies", {"percent": 10, "mode": "gradual"}, "cli:alice", initial=INITIAL,
                                  reason="canary")
    after = contract.run_sync(steps, table.execute)
    assert after["percent"] == 10 and after["mode"] == "gradual" and after["updated_by"] == "cli:alice"
    [audit] = table.audit
    assert audit["action"] == contract.ACTION_CHANGED and audit["before"]["percent"] == 0
    assert audit["after"]["percent"] == 10 and audit["reason"] == "canary"
    assert table.notified == [(contract.NOTIFY_CHANNEL, "movies")]


def test_skip_writes_nothing_when_already_rolled_back():
    table = FakeFlagTable({"movies": dict(INITIAL)})
    steps = contract.change_steps("movies", {"mode": "monolith"}, "proxy:h:1", initial=INITIAL,
                                  action=contract.ACTION_AUTO_ROLLBACK,
                                  skip=lambda before: before["mode"] == "monolith")
    assert contract.run_sync(steps, table.execute) is None
    assert table.audit == [] and table.notified == []


def test_the_async_driver_runs_the_same_protocol():
    table = FakeFlagTable({"movies": {**INITIAL, "mode": "service", "percent": 100}})

    async def execute(sql, params):
        return table.execute(sql, params)

    steps = contract.change_steps("movies", {"mode": "monolith"}, "proxy:h:1", initial=INITIAL,
                                  action=contract.ACTION_AUTO_ROLLBACK, reason="auto-rollback: 5 consecutive")
    after = asyncio.run(contract.run_async(steps, execute))
    assert after["mode"] == "monolith" and table.audit[0]["action"] == "flag.auto_rollback"


def test_update_sql_only_names_flag_columns():
    assert "percent = %(percent)s" in contract.update_sql(("percent",))
    with pytest.raises(ValueError):
        contract.update_sql(("percent; DROP TABLE x",))


def test_defaults_cover_every_domain_and_the_legacy_gradual_seed():
    flags = contract.initial_flags(gradual_migration=True, movies_percent=30)
    assert set(flags) == set(registry.FLAGGED)
    assert flags["movies"]["mode"] == "gradual" and flags["movies"]["percent"] == 30
    assert flags["users"]["rollback_consecutive"] == contract.FLAG_DEFAULTS["rollback_consecutive"]
