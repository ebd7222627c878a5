"""The import-linter contracts (``make lint``) cover every package, and the domains are the registry's."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from kernel import registry

ROOT = Path(__file__).resolve().parents[2]


def _contracts() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config


def _modules(value: str) -> set[str]:
    return set(re.findall(r"[a-z_][a-z0-9_.]*", value))


def test_every_domain_services_package_sits_in_a_layer():
    layers = _modules(_contracts()["importlinter:contract:layers"]["layers"])
    packages = {f"domain_services.{p.name}" for p in (ROOT / "domain_services").iterdir()
                if (p / "__init__.py").exists()}
    assert packages <= layers, sorted(packages - layers)


def test_the_independent_domains_are_the_registered_ones():
    independent = _modules(_contracts()["importlinter:contract:domains"]["modules"])
    assert independent == {d.package for d in registry.DOMAINS if d.models}


def test_the_gateway_may_import_no_domain_package():
    forbidden = _modules(_contracts()["importlinter:contract:gateway"]["forbidden_modules"])
    assert {d.package for d in registry.DOMAINS} <= forbidden
    assert {"sqlalchemy", "flask", "control_plane"} <= forbidden


def test_no_importlib_side_door_below_the_composition_root():
    """import-linter cannot see ``importlib`` imports; the kernel, the strangler control, the
    eventing machinery and the domains must not use them (deployments such as the monolith may)."""
    lower = ["kernel", "strangler", "eventing", *(d.package.replace(".", "/") for d in registry.DOMAINS if d.models)]
    offenders = [p.relative_to(ROOT).as_posix()
                 for package in lower for p in (ROOT / package).rglob("*.py") if "importlib" in p.read_text()]
    assert offenders == []
