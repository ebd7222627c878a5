"""The console's per-domain views come from ``control_plane/catalogue/<domain>.py``, collected
in the registry's order; a domain without such a module has none (no database needed)."""

from __future__ import annotations

import dataclasses

from sqlalchemy.orm import scoped_session, sessionmaker

from control_plane import catalogue
from kernel import registry


def _names(views) -> list[str]:
    return [view.name for view in views]


def test_every_domain_module_contributes_its_views_in_registry_order():
    views = catalogue.domain_views(scoped_session(sessionmaker()))
    assert _names(views) == ["Movies", "Users", "Payments", "Subscriptions"]


def test_the_registry_decides_which_domains_and_in_what_order(monkeypatch):
    by_name = {d.name: d for d in registry.DOMAINS}
    trailers = dataclasses.replace(by_name["events"], name="trailers")  # declared, no console module
    monkeypatch.setattr(registry, "DOMAINS", (by_name["payments"], trailers, by_name["movies"]))
    views = catalogue.domain_views(scoped_session(sessionmaker()))
    assert _names(views) == ["Payments", "Subscriptions", "Movies"]
