"""The events service only logs events: it imports no domain (payments owns its own reaction)."""

from __future__ import annotations

import ast
from pathlib import Path

import domain_services.events
from kernel.registry import DOMAINS

EVENTS = Path(domain_services.events.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_events_service_imports_no_domain_package():
    domains = {d.package for d in DOMAINS if d.name != "events"}
    offending = {f"{path.name}: {name}" for path in EVENTS.glob("*.py") for name in _imports(path)
                 if any(name == pkg or name.startswith(f"{pkg}.") for pkg in domains)}
    assert offending == set()


def test_payments_reaction_has_its_own_entry_point():
    from domain_services.payments import consumer

    assert callable(consumer.main) and consumer.__name__ == "domain_services.payments.consumer"
