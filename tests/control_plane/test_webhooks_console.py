"""Webhook endpoints in the console: admin only, CSRF-protected, audited, with a test send to a real receiver."""

from __future__ import annotations

import json

import psycopg
import pytest

from strangler import webhooks
from tests.proxy.conftest import libpq_url
from tests.worker.test_notifications import Receiver


@pytest.fixture
def receiver(db_url):
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute("DELETE FROM webhook_endpoints")
    r = Receiver()
    yield r
    r.close()


def test_an_admin_adds_an_endpoint_sees_its_secret_once_and_test_sends(as_role, operators, receiver, db_url):
    admin = as_role("admin")
    added = admin.post("/webhooks", {"name": "ops-slack", "endpoint_url": receiver.url, "format": "slack",
                                     "event_plan.rollback": "on"})
    body = added.get_data(True)
    assert added.status_code == 200 and 'data-testid="webhook-secret"' in body
    assert 'data-testid="webhook-secret"' not in admin.get("/webhooks").get_data(True), "shown once"
    [endpoint] = webhooks.list_endpoints(url=db_url)
    assert (endpoint["format"], endpoint["events"]) == ("slack", ["plan.rollback"])
    sent = admin.post(f"/webhooks/{endpoint['id']}/test")
    assert sent.status_code == 302
    assert json.loads(receiver.received[0][1])["text"] == "CinemaAbyss test notification"
    page = admin.get("/webhooks").get_data(True)
    assert "test delivered (HTTP 200)" in page and "delivered 200" in page
    with psycopg.connect(libpq_url(db_url)) as conn:
        rows = conn.execute("SELECT actor, action FROM flag_audit WHERE action LIKE 'webhook.%%' ORDER BY id DESC "
                            "LIMIT 2").fetchall()
    assert rows == [(operators["admin"], "webhook.test_sent"), (operators["admin"], "webhook.created")]


def test_bad_endpoints_are_refused_with_a_message(as_role, receiver, db_url):
    admin = as_role("admin")
    response = admin.post("/webhooks", {"name": "x", "endpoint_url": "ftp://example.com/"})
    assert response.status_code == 303
    assert "must be an http" in admin.get("/webhooks").get_data(True)
    assert webhooks.list_endpoints(url=db_url) == []


@pytest.mark.parametrize("role", ["ops", "editor", "viewer"])
def test_only_admins_reach_webhooks(as_role, role, receiver):
    client = as_role(role)
    assert client.get("/webhooks").status_code == 403
    assert client.post("/webhooks", {"name": "x", "endpoint_url": "http://127.0.0.1:9/"}).status_code == 403


def test_the_form_needs_a_csrf_token(as_role, receiver, db_url):
    admin = as_role("admin")
    assert admin.client.post("/webhooks", data={"name": "x", "endpoint_url": "http://127.0.0.1:9/"}).status_code == 400
    assert webhooks.list_endpoints(url=db_url) == []
