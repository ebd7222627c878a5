"""Exactly-once writes in the services: key and answer commit with the write, in one table the
monolith and the services share (``kernel.exactly_once``), against the real database."""

from __future__ import annotations

import threading
import uuid

import psycopg
import pytest
from sqlalchemy.engine import make_url

from kernel import exactly_once
from tests.domain_services.conftest import unique
from tests.support.processes import wait_until


def _libpq(db_url: str) -> str:
    return make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)


def _rows(db_url: str, title: str) -> int:
    with psycopg.connect(_libpq(db_url)) as conn:
        return conn.execute("SELECT count(*) FROM movies WHERE title = %s", [title]).fetchone()[0]


def _movie(title: str) -> dict:
    return {"title": title, "description": "d", "rating": 5, "genres": ["Drama"]}


def test_a_key_answers_the_same_on_the_service_and_the_monolith_and_writes_once(apps, db_url):
    title, key = unique("Once "), uuid.uuid4().hex
    first = apps["movies"].test_client().post("/api/movies", json=_movie(title), headers={"Idempotency-Key": key})
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = apps["monolith"].test_client().post("/api/movies", json=_movie(title), headers={"Idempotency-Key": key})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    assert _rows(db_url, title) == 1


def test_the_same_key_for_another_request_is_a_422_and_a_bad_key_a_400(apps, db_url):
    title, key = unique("Other "), uuid.uuid4().hex
    client = apps["movies"].test_client()
    assert client.post("/api/movies", json=_movie(title), headers={"Idempotency-Key": key}).status_code == 201
    other = client.post("/api/movies", json=_movie(title + " 2"), headers={"Idempotency-Key": key})
    assert other.status_code == 422 and "Idempotency-Key" in other.json["error"]
    bad = client.post("/api/movies", json=_movie(title), headers={"Idempotency-Key": "x" * 300})
    assert bad.status_code == 400 and "error" in bad.json
    assert _rows(db_url, title) == 1 and _rows(db_url, title + " 2") == 0


def test_a_refused_write_keeps_its_answer_and_writes_nothing(apps, db_url):
    key = uuid.uuid4().hex
    client = apps["movies"].test_client()
    refused = client.post("/api/movies", json={"title": ""}, headers={"Idempotency-Key": key})
    assert refused.status_code == 400
    again = client.post("/api/movies", json={"title": ""}, headers={"Idempotency-Key": key})
    assert again.status_code == 400 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json == refused.json


def test_answers_carrying_credentials_are_never_kept(apps, db_url):
    key, name = uuid.uuid4().hex, unique("u")
    apps["users"].test_client().post("/api/auth/register", headers={"Idempotency-Key": key},
                                     json={"username": name, "email": f"{name}@example.com", "password": "pw-long-1"})
    with psycopg.connect(_libpq(db_url)) as conn:
        assert conn.execute("SELECT count(*) FROM request_keys WHERE key = %s", [key]).fetchone()[0] == 0


def _waiting_on_a_lock(db_url: str) -> bool:
    with psycopg.connect(_libpq(db_url)) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND wait_event_type = 'Lock' AND query LIKE '%request_keys%'").fetchone()[0] > 0


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
def test_a_request_waits_out_the_transaction_holding_its_key(apps, db_url, outcome):
    """The monolith's replay against a service transaction still open (or dying): it takes the
    committed answer, or — when that transaction rolls back — does the write itself, once."""
    title, key = unique("Held "), uuid.uuid4().hex
    path = "/api/movies"
    body = apps["movies"].test_client().application.json.dumps(_movie(title)).encode()
    fp = exactly_once.fingerprint("POST", path, body)
    holder = psycopg.connect(_libpq(db_url))
    holder.execute("INSERT INTO request_keys (key, fingerprint, status, content_type, body) "
                   "VALUES (%s, %s, 201, 'application/json', %s)", [key, fp, b'{"id": -1}'])
    answers = []
    waiter = threading.Thread(target=lambda: answers.append(apps["monolith"].test_client().post(
        path, data=body, content_type="application/json", headers={"Idempotency-Key": key})))
    waiter.start()
    try:
        wait_until(lambda: _waiting_on_a_lock(db_url), timeout=10, message="the second request waits on the key")
    finally:
        holder.commit() if outcome == "commit" else holder.rollback()
        holder.close()
        waiter.join(20)
    answer = answers[0]
    assert answer.status_code == 201
    if outcome == "commit":
        assert answer.headers["Idempotent-Replayed"] == "true" and answer.json == {"id": -1}
        assert _rows(db_url, title) == 0
    else:
        assert "Idempotent-Replayed" not in answer.headers and answer.json["title"] == title
        assert _rows(db_url, title) == 1


def test_a_key_held_too_long_is_a_409_and_nothing_is_written(apps, db_url, monkeypatch):
    monkeypatch.setattr(exactly_once, "WAIT_SECONDS", 0.2)
    title, key = unique("Busy "), uuid.uuid4().hex
    with psycopg.connect(_libpq(db_url)) as holder:
        holder.execute("INSERT INTO request_keys (key, fingerprint) VALUES (%s, 'x')", [key])
        busy = apps["movies"].test_client().post("/api/movies", json=_movie(title), headers={"Idempotency-Key": key})
        holder.rollback()
    assert busy.status_code == 409 and "in progress" in busy.json["error"]
    assert _rows(db_url, title) == 0


def test_the_purge_deletes_keys_older_than_a_day(apps, db_url):
    old, new = uuid.uuid4().hex, uuid.uuid4().hex
    with psycopg.connect(_libpq(db_url)) as conn:
        conn.execute("INSERT INTO request_keys (key, fingerprint, created_at) VALUES "
                     "(%s, 'x', now() - interval '25 hours'), (%s, 'x', now())", [old, new])
    assert exactly_once.purge(url=db_url) >= 1
    with psycopg.connect(_libpq(db_url)) as conn:
        left = {r[0] for r in conn.execute("SELECT key FROM request_keys WHERE key IN (%s, %s)", [old, new])}
    assert left == {new}
