"""Internal ports stay internal: without configuration every process listens on loopback only."""

from __future__ import annotations

from kernel.server import gunicorn_options
from kernel.settings import load_settings


def test_flask_processes_bind_loopback_by_default():
    assert gunicorn_options(load_settings({}), 8081)["bind"] == "127.0.0.1:8081"


def test_host_and_port_come_from_the_settings():
    settings = load_settings({"HOST": "0.0.0.0", "PORT": "9001"})
    assert gunicorn_options(settings, 8081)["bind"] == "0.0.0.0:9001"


def test_the_local_stack_never_overrides_the_host():
    """``make up`` starts the processes with the settings' HOST (default 127.0.0.1)."""
    from pathlib import Path

    import cinemaabyss.stack as stack

    for source in Path(stack.__file__).parent.glob("*.py"):
        assert "0.0.0.0" not in source.read_text(), source.name
