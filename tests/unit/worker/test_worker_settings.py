"""The worker's tasks read the settings its entry point configured, never the process settings."""

from __future__ import annotations

import pytest
from celery import Celery

from kernel.settings import load_settings
from worker import app as worker_app


def test_tasks_read_the_settings_configure_was_given(monkeypatch):
    monkeypatch.setattr(worker_app, "_settings", None)
    with pytest.raises(RuntimeError, match="configure"):
        worker_app.settings()  # no entry point configured this process: fail loudly, read nothing
    settings = load_settings({}, redis_url="redis://127.0.0.1:1/5", database_url="postgresql+psycopg://x@127.0.0.1:1/x")
    monkeypatch.setattr(worker_app.db, "bind", lambda url: None)  # nothing to connect to in a unit test
    monkeypatch.setattr(worker_app, "app", Celery("unit"))  # the process-wide app keeps its configuration
    celery = worker_app.configure(settings)
    assert worker_app.settings() is settings
    assert celery.conf.broker_url == "redis://127.0.0.1:1/5"
