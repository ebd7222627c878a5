"""Fixtures for the deployment tests: the parsed compose file, the runtime map, the tools."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from cinemaabyss.stack.processes import PROCESSES

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "cinemaabyss"
TEST_VALUES = Path(__file__).with_name("values-test.yaml")
KUBERNETES_VERSION = "1.31.4"  # keep in step with scripts/install-go-tools.sh

# The runtime map — name -> (module, port, health path) — is the stack's process list, whose
# domain services come from the domain registry; compose and Helm are checked against it.
RUNTIME_MAP: dict[str, tuple[str, int | None, str | None]] = {
    p.name: (p.module, p.default_port, p.health_path) for p in PROCESSES
}
#: The only application processes reachable from outside a deployment.
PUBLIC = ("proxy", "console")


@pytest.fixture(scope="session")
def compose() -> dict:
    """docker-compose.yml, parsed (YAML anchors and merge keys resolved)."""
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="session")
def go_tools() -> Path:
    """The directory holding helm, kubeconform and the schemas (installed once, then cached)."""
    if shutil.which("go") is None:
        pytest.skip("Go is not installed: helm and kubeconform install as Go modules")
    result = subprocess.run(
        [str(ROOT / "scripts" / "install-go-tools.sh")],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
        env={**os.environ},
    )
    assert result.returncode == 0, f"install-go-tools.sh failed:\n{result.stderr}"
    return Path(result.stdout.strip().splitlines()[-1])


def helm_template(tools: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``helm template`` of the chart with the test values plus ``args``."""
    return subprocess.run(
        [
            str(tools / "helm"), "template", "t", str(CHART),
            "--kube-version", KUBERNETES_VERSION, "-f", str(TEST_VALUES), *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="session")
def rendered(go_tools: Path) -> str:
    """The chart rendered with the test values."""
    result = helm_template(go_tools)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="session")
def manifests(rendered: str) -> list[dict]:
    """The rendered chart as a list of objects."""
    return [doc for doc in yaml.safe_load_all(rendered) if doc]
