"""A throw-away domain declared in the registry alone is picked up by the gateway, its policy,
the console and the local stack.

The check runs in a fresh interpreter: it adds one ``Domain(...)`` entry to the registry's
source (as ``docs/adding-a-domain.md`` does), installs that as ``kernel.registry`` before any
reader is imported, then imports the readers and asserts each lists the new domain. Nothing
else in the tree is edited, so a reader that keeps its own list fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

ENTRY = '''    Domain(
        "trailers", ("/api/trailers",), "trailers_service_url", 8099, "/api/trailers/health",
        topic="trailer-events", summary="movie trailers", writes="signed-in",
    ),
'''

SCRIPT = r'''
import json, sys, types
import kernel

path = sys.argv[1]
source = open(path).read()
anchor = "\n)\n\n_BY_NAME"
assert source.count(anchor) == 1, "the registry's DOMAINS tuple no longer ends where expected"
registry = types.ModuleType("kernel.registry")
registry.__file__ = path
sys.modules["kernel.registry"] = registry
exec(compile(source.replace(anchor, "\n" + sys.argv[2].rstrip("\n") + anchor), path, "exec"), registry.__dict__)
kernel.registry = registry

from cinemaabyss.stack import kafka_broker, processes
from control_plane import migration_health, strangler, traffic
from proxy import policy, routing

verdict = lambda method, path, role: policy.verdict(policy.rule_for(method, path), role, "writes")
process = next((p for p in processes.PROCESSES if p.name == "trailers"), None)
print(json.dumps({
    "route": routing.route_of("/api/trailers/7"),
    "prefixes": [p for p, name in routing.PREFIXES if name == "trailers"],
    "service_health": "/api/trailers/health" in routing.SERVICE_HEALTH,
    "probe": policy.rule_for("GET", "/api/trailers/health").probe,
    "anonymous_read": verdict("GET", "/api/trailers/7", "anonymous"),
    "anonymous_write": verdict("POST", "/api/trailers", "anonymous"),
    "user_write": verdict("POST", "/api/trailers", "user"),
    "console_cards": "trailers" in strangler.FLAGGED,
    "console_chart": "trailers" in traffic.DOMAINS,
    "console_health": migration_health.ROUTES.get("trailers"),
    "process": process and [process.module, process.default_port, process.health_path, process.url_setting],
    "topics": [t for t in kafka_broker.TOPICS if t.startswith("trailer-events")],
}))
'''


def test_a_registry_entry_alone_reaches_gateway_policy_console_and_stack():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ROOT / "kernel" / "registry.py"), ENTRY],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["route"] == "trailers" and seen["prefixes"] == ["/api/trailers"]
    assert seen["service_health"] and seen["probe"]
    # reads open, writes for signed-in callers (the entry's ``writes``), anonymous writes 401
    assert (seen["anonymous_read"], seen["anonymous_write"], seen["user_write"]) == (0, 401, 0)
    assert seen["console_cards"] and seen["console_chart"] and seen["console_health"] == "trailers"
    assert seen["process"] == ["domain_services.trailers", 8099, "/api/trailers/health", "trailers_service_url"]
    assert seen["topics"] == ["trailer-events", "trailer-events.dlq"]
