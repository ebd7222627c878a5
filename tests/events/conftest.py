"""Fixtures of the events-service tests: the service as a real process on a free port."""

from __future__ import annotations

import pytest

from tests.support.processes import free_port, running


@pytest.fixture(scope="module")
def events_service(db_url, kafka_brokers):
    """``python -m domain_services.events`` against the shared broker and the test database."""
    with running("events", "domain_services.events", port=free_port(), health_path="/api/events/health") as proc:
        yield proc


@pytest.fixture(scope="module")
def dead_broker_events_service(db_url):
    """The events service configured with a broker address where nothing listens."""
    env = {"KAFKA_BROKERS": f"127.0.0.1:{free_port()}"}
    with running("events-deadbroker", "domain_services.events", port=free_port(), env=env,
                 health_path="/api/events/health") as proc:
        yield proc
