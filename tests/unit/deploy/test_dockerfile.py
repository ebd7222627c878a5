"""deploy/Dockerfile: multi-stage, non-root, no build tools at run time, healthcheck-friendly."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.deploy.conftest import ROOT

DOCKERFILE = (ROOT / "deploy" / "Dockerfile").read_text()


def _stages() -> list[tuple[str, str]]:
    """``(FROM line, body)`` per stage."""
    parts = re.split(r"^(FROM .*)$", DOCKERFILE, flags=re.MULTILINE)
    return list(zip(parts[1::2], parts[2::2], strict=True))


def test_is_multi_stage_on_python_311_slim():
    stages = _stages()
    assert len(stages) >= 2
    assert 'ARG PYTHON_IMAGE=python:3.11-slim' in DOCKERFILE
    assert all("${PYTHON_IMAGE}" in line for line, _ in stages)


def test_final_stage_runs_as_non_root_without_build_tools():
    _line, body = _stages()[-1]
    users = re.findall(r"^USER (\S+)", body, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert "build-essential" not in body and "apt-get install" not in body
    assert "COPY --from=builder /opt/venv /opt/venv" in body


def test_builder_installs_into_a_venv():
    _line, body = _stages()[0]
    assert "python -m venv /opt/venv" in body
    assert "pip install" in body


def test_default_process_is_the_proxy_and_host_binds_all_interfaces():
    assert DOCKERFILE.rstrip().splitlines()[-1] == 'CMD ["python", "-m", "proxy"]'
    assert "HOST=0.0.0.0" in DOCKERFILE
    assert "HEALTHCHECK" in DOCKERFILE


def test_build_context_excludes_local_state_and_secrets():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", ".run", ".env"):
        assert entry in ignored
    # what the image needs at run time is not excluded
    for needed in ("migrations", "alembic.ini", "templates", "static", "deploy/healthcheck.py"):
        assert needed not in ignored


def test_healthcheck_script_exits_nonzero_when_nothing_listens():
    result = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "healthcheck.py"), "http://127.0.0.1:9/health"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert "unhealthy" in result.stderr


def test_healthcheck_default_url_follows_port():
    sys.path.insert(0, str(ROOT / "deploy"))
    try:
        from healthcheck import probe_url
    finally:
        sys.path.pop(0)
    assert probe_url(["hc"], {}) == "http://127.0.0.1:8000/health"
    assert probe_url(["hc"], {"PORT": "8081"}) == "http://127.0.0.1:8081/health"
    assert probe_url(["hc", "http://x/y"], {"PORT": "1"}) == "http://x/y"


def test_healthcheck_script_exits_zero_on_a_2xx_answer():
    import http.server
    import threading

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/health"
        result = subprocess.run(
            [sys.executable, str(ROOT / "deploy" / "healthcheck.py"), url], timeout=30, check=False
        )
        assert result.returncode == 0
    finally:
        server.shutdown()
        server.server_close()
