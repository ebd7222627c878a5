"""Settings flow down from composition roots: below them nothing reads the process settings."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Modules that are a process's composition root (or the settings module itself).
ROOTS = {
    "kernel/settings.py",
    "kernel/server.py",  # serve(): the root of every Flask process
    "domain_services/events/runner.py",
    "domain_services/payments/consumer.py",
    # The console/CLI flag helpers still default to the process settings when a caller passes
    # none (their callers are the console and the CLI, both roots); listed so a new one fails.
    "strangler/flags.py",
}


def test_no_domain_or_kernel_module_reads_the_process_settings():
    offenders = []
    paths = [p for package in ("domain_services", "kernel", "strangler", "eventing")
             for p in (ROOT / package).rglob("*.py")]
    for path in sorted(paths):
        relative = path.relative_to(ROOT).as_posix()
        if relative in ROOTS or relative.endswith("/__main__.py"):
            continue
        if "get_settings(" in path.read_text():
            offenders.append(relative)
    assert offenders == [], f"take settings from the caller instead: {offenders}"


def test_the_database_module_never_reads_settings():
    source = (ROOT / "kernel" / "db.py").read_text()
    assert "kernel.settings" not in source and "get_settings" not in source


def test_the_console_builds_its_clients_from_the_app_settings(tmp_path):
    from control_plane import clients, create_app
    from kernel.settings import load_settings

    settings = load_settings({"RUN_DIR": str(tmp_path)}, secret_key="unit", redis_url="redis://127.0.0.1:1/7",
                             kafka_brokers="127.0.0.1:2")
    with create_app(settings).app_context():  # nothing connects: clients are built, not used
        assert clients.app_settings() is settings
        assert clients.redis_client().connection_pool.connection_kwargs["port"] == 1
        assert clients.kafka_consumer_config()["bootstrap.servers"] == "127.0.0.1:2"
