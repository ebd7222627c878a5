"""Alert rules and the Grafana dashboard: valid for promtool, firing on the series they are for,
naming only metrics the code exports, and shipped by the Helm chart as a PrometheusRule."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.conftest import ROOT, helm_template

RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "alerts_test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "cinemaabyss.json"
METRIC = re.compile(r"\b((?:proxy|cinemaabyss)_[a-z_]+)\b")


@pytest.fixture(scope="session")
def promtool() -> Path:
    """promtool: Debian's (bootstrap --test) or built as a Go module; missing fails under CI, skips elsewhere."""
    if shutil.which("promtool") is None and shutil.which("go") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is not installed (scripts/bootstrap.sh --test installs Debian's prometheus)")
        pytest.skip("promtool is not installed (scripts/bootstrap.sh --test installs Debian's prometheus)")
    result = subprocess.run([str(ROOT / "scripts" / "install-promtool.sh")], capture_output=True, text=True,
                            timeout=1800, check=False)
    assert result.returncode == 0, f"install-promtool.sh failed:\n{result.stderr}"
    return Path(result.stdout.strip().splitlines()[-1])


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, check=False)


def test_promtool_accepts_the_rules(promtool):
    result = _run(str(promtool), "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_each_alert_fires_on_the_series_it_is_for(promtool):
    result = _run(str(promtool), "test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_broken_rule(promtool, tmp_path):
    """The check is real: a rule with a bad expression fails it."""
    broken = tmp_path / "broken.yml"
    broken.write_text(RULES.read_text().replace("increase(proxy_auto_rollbacks_total[5m]) > 0",
                                                "increase(proxy_auto_rollbacks_total[5m] > 0", 1))
    assert _run(str(promtool), "check", "rules", str(broken)).returncode != 0


def _exported() -> set[str]:
    """Every series name the gateway and the events service expose."""
    from prometheus_client import Counter, Histogram

    from domain_services.events.metrics import render
    from proxy import metrics

    names: set[str] = set()
    for value in vars(metrics).values():
        if isinstance(value, Counter):
            names.add(f"{value._name}_total")
        elif isinstance(value, Histogram):
            names.update(f"{value._name}_{suffix}" for suffix in ("bucket", "count", "sum"))
    text = render([], {}, {"pending": 0, "oldest_pending_age_seconds": None})
    names.update(line.split()[2] for line in text.splitlines() if line.startswith("# TYPE "))
    return names


def test_rules_and_dashboard_name_only_exported_metrics():
    exported = _exported()
    rules = {m for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
             for m in METRIC.findall(rule["expr"])}
    panels = json.loads(DASHBOARD.read_text())["panels"]
    dashboard = {m for p in panels for t in p.get("targets", []) for m in METRIC.findall(t["expr"])}
    assert rules and dashboard
    assert rules - exported == set(), "alert rules name metrics nobody exports"
    assert dashboard - exported == set(), "dashboard panels name metrics nobody exports"
    covered = rules | dashboard
    for needed in ("proxy_auto_rollbacks_total", "cinemaabyss_dead_letters_total",
                   "cinemaabyss_consumer_group_lag_messages", "cinemaabyss_outbox_oldest_pending_age_seconds"):
        assert needed in covered


def test_the_chart_ships_the_rules_as_a_prometheusrule_when_switched_on(go_tools, promtool, tmp_path):
    off = helm_template(go_tools)
    assert off.returncode == 0, off.stderr
    assert "kind: PrometheusRule" not in off.stdout, "off by default (it needs the operator's CRDs)"
    on = helm_template(go_tools, "--set", "prometheusRule.enabled=true", "--set", "prometheusRule.labels.release=kp")
    assert on.returncode == 0, on.stderr
    [rule] = [d for d in yaml.safe_load_all(on.stdout) if d and d["kind"] == "PrometheusRule"]
    assert rule["apiVersion"] == "monitoring.coreos.com/v1" and rule["metadata"]["labels"]["release"] == "kp"
    assert rule["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"], "one source for both"
    rendered = tmp_path / "rendered-rules.yml"
    rendered.write_text(yaml.safe_dump(rule["spec"]))
    result = _run(str(promtool), "check", "rules", str(rendered))
    assert result.returncode == 0, result.stdout + result.stderr
