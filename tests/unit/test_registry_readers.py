"""Files that list domains at run time read the registry instead of keeping their own list.

A port, health path, topic or event-aggregate list written into one of these files would
drift from ``kernel/registry.py`` the day a domain is added; each must come from the registry
(or from ``kernel.event_types``) through the code that renders it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kernel import event_types, registry

ROOT = Path(__file__).resolve().parents[2]
SERVICE_ROOTS = [ROOT / "domain_services" / d.name / name for d in registry.DOMAINS
                 for name in ("app.py", "__main__.py", "runner.py", "api.py")
                 if (ROOT / "domain_services" / d.name / name).exists()]


@pytest.mark.parametrize("path", SERVICE_ROOTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_domain_services_take_port_and_health_path_from_the_registry(path):
    text = path.read_text()
    for domain in registry.DOMAINS:
        assert f'"{domain.health_path}"' not in text
        assert not re.search(rf"\b{domain.port}\b", text), f"port {domain.port} written in {path.name}"


@pytest.mark.parametrize("path", ["templates/events.html", "static/dashboard.js"])
def test_console_pages_name_no_topic_and_no_aggregate(path):
    """The event stream's topics and types, the chart's series, come from the server."""
    text = (ROOT / path).read_text()
    for topic in registry.TOPICS:
        assert topic not in text
    for aggregate in {t.type for t in event_types.EVENT_TYPES.values()}:
        assert f"'{aggregate}'" not in text and f'"{aggregate}"' not in text
    for domain in registry.DOMAINS:
        assert f"'{domain.name}'" not in text and f'"{domain.name}"' not in text
