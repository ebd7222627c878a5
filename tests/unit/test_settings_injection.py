"""Settings flow down from composition roots: below them nothing reads the process settings."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Every package below the CLI: nothing in them reads the process settings except a root.
PACKAGES = ("kernel", "strangler", "eventing", "domain_services", "proxy", "control_plane", "worker")

#: Modules that are a process's composition root (or the settings module itself), with why.
#: Every ``__main__.py`` is a root too (``python -m`` starts the process there).
ROOTS = {
    "kernel/settings.py": "defines get_settings()",
    "kernel/server.py": "serve(): the root of every Flask process (monolith, domain services)",
    "domain_services/events/runner.py": "the events service process: API plus its consumer threads",
    "domain_services/payments/consumer.py": "main() of the payments consumer process",
    "proxy/app.py": "the gateway's ASGI application object a server starts (lifespan builds the Gateway)",
    "proxy/rsgi.py": "the gateway's RSGI application object a server starts",
    "control_plane/__init__.py": "create_app(): the console's app factory",
}


def _reads_process_settings(relative: str) -> bool:
    return "get_settings(" in (ROOT / relative).read_text()


def test_no_module_below_the_composition_roots_reads_the_process_settings():
    offenders = []
    paths = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    for path in sorted(paths):
        relative = path.relative_to(ROOT).as_posix()
        if relative in ROOTS or relative.endswith("/__main__.py"):
            continue
        if _reads_process_settings(relative):
            offenders.append(relative)
    assert offenders == [], f"take settings from the caller instead: {offenders}"


def test_every_listed_root_exists_and_still_reads_the_settings():
    # a root that stopped reading them (or moved) must leave the list, so the list stays true
    stale = [relative for relative in ROOTS if not (ROOT / relative).is_file() or not _reads_process_settings(relative)]
    assert stale == [], f"not a composition root any more: {stale}"


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
