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
