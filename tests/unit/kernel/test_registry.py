"""The domain registry is the one place per domain fact; what reads it agrees with it."""

from __future__ import annotations

import importlib
import re
from dataclasses import fields
from pathlib import Path

from cinemaabyss import schema
from kernel import event_types, registry
from kernel.settings import Settings, load_settings

PACKAGES = ("kernel", "strangler", "eventing", "domain_services", "proxy", "control_plane", "worker",
            "cinemaabyss", "bench")


def test_each_domain_default_url_uses_its_declared_port():
    defaults = load_settings({})
    setting_names = {f.name for f in fields(Settings)}
    for domain in registry.DOMAINS:
        assert domain.url_setting in setting_names, domain.name
        assert getattr(defaults, domain.url_setting).endswith(f":{domain.port}"), domain.name


def test_route_prefixes_are_api_paths_owned_by_one_domain():
    prefixes = [prefix for prefix, _ in registry.ROUTE_PREFIXES]
    assert len(prefixes) == len(set(prefixes))
    for prefix in prefixes:
        assert prefix.startswith("/api/") and not prefix.endswith("/")
        # no prefix shadows another (first match wins, so order would otherwise matter)
        assert not any(other != prefix and other.startswith(prefix) for other in prefixes)


def test_every_topic_is_a_domain_topic_and_every_event_type_goes_to_one():
    assert event_types.TOPICS == registry.TOPICS
    assert {t.topic for t in event_types.EVENT_TYPES.values()} <= set(registry.TOPICS)


def test_models_of_every_domain_are_in_the_metadata():
    tables = schema.load_all_models().tables
    for module in registry.MODEL_MODULES:
        declared = importlib.import_module(module)
        assert any(getattr(obj, "__table__", None) is not None and obj.__table__.name in tables
                   for obj in vars(declared).values()), module


def test_flag_domains_are_the_flagged_declarations():
    assert tuple(d.name for d in registry.DOMAINS if d.flagged) == registry.FLAGGED
    assert "events" not in registry.FLAGGED  # no monolith counterpart: nothing to migrate


#: Old names of the flagged-domain list.
_ALIASES = ("FLAG_DOMAINS", "FLAGGED_DOMAINS")


def test_the_flagged_domain_list_is_read_under_one_name():
    root = Path(__file__).resolve().parents[3]
    readers = sorted(
        path.relative_to(root).as_posix()
        for package in PACKAGES
        for path in (root / package).rglob("*.py")
        if any(re.search(rf"\b{alias}\b", path.read_text()) for alias in _ALIASES)
    )
    assert readers == [], f"read kernel.registry.FLAGGED instead: {readers}"


def test_a_domain_package_is_named_after_it_and_runnable():
    for domain in registry.DOMAINS:
        assert importlib.util.find_spec(f"{domain.package}.__main__") is not None, domain.name


def test_unknown_domains_and_topicless_domains_fail_loudly():
    import pytest

    with pytest.raises(KeyError, match="unknown domain"):
        registry.domain("no-such-domain")
    with pytest.raises(KeyError, match="no topic"):
        registry.topic_of("events")


def test_gateway_routes_and_upstreams_come_from_the_registry():
    from proxy.routing import PREFIXES, Upstreams, route_of

    assert PREFIXES == registry.ROUTE_PREFIXES
    for prefix, name in registry.ROUTE_PREFIXES:
        assert route_of(f"{prefix}/1") == name
    upstreams = Upstreams.from_settings(load_settings({}))
    assert set(upstreams.services) == {d.name for d in registry.DOMAINS}
    assert upstreams.services["movies"].endswith(":8081")
