"""Webhook endpoints, the delivery log and the notifier's cursor (PostgreSQL, migration 0009).

Flow: the worker's beat calls :func:`scan` every few seconds; it reads the audit rows past its
cursor, turns each into a :class:`~strangler.notify.Notification` and writes one
``webhook_deliveries`` row per subscribed endpoint — in the transaction that moves the cursor,
so a crash neither loses nor repeats a notification. Each delivery is then sent by
:func:`attempt` (a Celery task): 2xx marks it delivered; anything else is retried after
:func:`strangler.notify.backoff` until ``max_attempts``, then marked ``failed`` (the console
lists failures). Endpoint changes are audited (``webhook.*`` rows, secrets never in them).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Connection

from kernel.db import get_engine
from kernel.errors import Conflict, InvalidInput, NotFound
from strangler import notify

_ENDPOINT = ("SELECT id, name, url, format, events, active, created_by, created_at, "
             "(SELECT state || ' ' || coalesce(last_status::text, '') || ' ' || to_char(created_at, "
             "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM webhook_deliveries d WHERE d.endpoint_id = e.id "
             "ORDER BY id DESC LIMIT 1) FROM webhook_endpoints e")
SCAN_BATCH = 200


def _public(row: Any) -> dict[str, Any]:
    return {"id": row[0], "name": row[1], "url": row[2], "format": row[3], "events": list(row[4]),
            "active": row[5], "created_by": row[6], "created_at": row[7].isoformat(), "last_delivery": row[8]}


def validate(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Name, URL (http/https with a host), format and subscribed kinds from form/JSON input."""
    name = str(raw.get("name") or "").strip()
    if not 1 <= len(name) <= 100:
        raise InvalidInput("name must be 1..100 characters")
    url = str(raw.get("url") or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise InvalidInput("url must be an http:// or https:// address with a host")
    fmt = str(raw.get("format") or "generic")
    if fmt not in notify.FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(notify.FORMATS)}")
    events = raw.get("events") or []
    events = [e.strip() for e in (events.split(",") if isinstance(events, str) else events) if e.strip()]
    unknown = sorted(set(events) - set(notify.EVENTS))
    if unknown:
        raise InvalidInput(f"unknown event(s): {', '.join(unknown)}")
    return {"name": name, "url": url, "format": fmt, "events": events, "active": bool(raw.get("active", True))}


def _audit(conn: Connection, actor: str, action: str, before: dict | None, after: dict | None, reason: str) -> None:
    conn.execute(text("INSERT INTO flag_audit (actor, action, domain, before, after, reason) "
                      "VALUES (:a, :action, NULL, CAST(:b AS jsonb), CAST(:af AS jsonb), :r)"),
                 {"a": actor[:100], "action": f"webhook.{action}", "b": json.dumps(before), "af": json.dumps(after),
                  "r": reason})


def list_endpoints(*, url: str | None = None) -> list[dict[str, Any]]:
    """Every endpoint (no secrets) with its last delivery's state."""
    with get_engine(url).connect() as conn:
        return [_public(r) for r in conn.execute(text(_ENDPOINT + " ORDER BY name"))]


def create(raw: Mapping[str, Any], actor: str, *, url: str | None = None) -> tuple[dict[str, Any], str]:
    """Add an endpoint; returns it and its signing secret (shown once)."""
    values = validate(raw)
    secret = secrets.token_urlsafe(32)
    with get_engine(url).begin() as conn:
        if conn.execute(text("SELECT 1 FROM webhook_endpoints WHERE name = :n"), {"n": values["name"]}).first():
            raise Conflict(f"an endpoint named {values['name']!r} exists")
        new_id = conn.execute(text("INSERT INTO webhook_endpoints (name, url, format, secret, events, active, "
                                   "created_by) VALUES (:name, :url, :format, :s, :events, :active, :by) RETURNING id"),
                              {**values, "s": secret, "by": actor[:100]}).scalar_one()
        endpoint = _public(conn.execute(text(_ENDPOINT + " WHERE id = :i"), {"i": new_id}).one())
        _audit(conn, actor, "created", None, endpoint, f"webhook {values['name']} added")
    return endpoint, secret


def update(endpoint_id: int, raw: Mapping[str, Any], actor: str, *, url: str | None = None) -> dict[str, Any]:
    """Change an endpoint's name, URL, format, kinds or active switch (the secret stays)."""
    values = validate(raw)
    with get_engine(url).begin() as conn:
        before = conn.execute(text(_ENDPOINT + " WHERE id = :i FOR UPDATE OF e"), {"i": endpoint_id}).first()
        if before is None:
            raise NotFound(f"no webhook endpoint {endpoint_id}")
        clash = conn.execute(text("SELECT 1 FROM webhook_endpoints WHERE name = :n AND id <> :i"),
                             {"n": values["name"], "i": endpoint_id}).first()
        if clash:
            raise Conflict(f"an endpoint named {values['name']!r} exists")
        conn.execute(text("UPDATE webhook_endpoints SET name = :name, url = :url, format = :format, events = :events, "
                          "active = :active, updated_at = now() WHERE id = :i"), {**values, "i": endpoint_id})
        after = _public(conn.execute(text(_ENDPOINT + " WHERE id = :i"), {"i": endpoint_id}).one())
        _audit(conn, actor, "changed", _public(before), after, f"webhook {values['name']} changed")
    return after


def delete(endpoint_id: int, actor: str, *, url: str | None = None) -> None:
    """Remove an endpoint and its delivery log."""
    with get_engine(url).begin() as conn:
        before = conn.execute(text(_ENDPOINT + " WHERE id = :i FOR UPDATE OF e"), {"i": endpoint_id}).first()
        if before is None:
            raise NotFound(f"no webhook endpoint {endpoint_id}")
        conn.execute(text("DELETE FROM webhook_endpoints WHERE id = :i"), {"i": endpoint_id})
        _audit(conn, actor, "deleted", _public(before), None, f"webhook {before[1]} removed")


def recent_deliveries(limit: int = 30, *, url: str | None = None) -> list[dict[str, Any]]:
    """The newest deliveries, with their endpoint's name."""
    with get_engine(url).connect() as conn:
        rows = conn.execute(text("SELECT d.id, e.name, d.event, d.state, d.attempts, d.last_status, d.last_error, "
                                 "d.created_at, d.delivered_at FROM webhook_deliveries d JOIN webhook_endpoints e "
                                 "ON e.id = d.endpoint_id ORDER BY d.id DESC LIMIT :n"), {"n": limit})
        return [{"id": r[0], "endpoint": r[1], "event": r[2], "state": r[3], "attempts": r[4], "last_status": r[5],
                 "last_error": r[6], "created_at": r[7].isoformat(),
                 "delivered_at": r[8].isoformat() if r[8] else None} for r in rows]


def _enqueue(conn: Connection, notifications: Iterable[notify.Notification], only: int | None = None) -> list[int]:
    """One pending delivery per (subscribed active endpoint, notification), payload in the endpoint's format."""
    query = "SELECT id, format, events FROM webhook_endpoints WHERE active"
    endpoints = conn.execute(text(query + (" AND id = :i" if only is not None else "")), {"i": only}).fetchall()
    ids: list[int] = []
    for item in notifications:
        for endpoint_id, fmt, events in endpoints:
            if events and item.kind not in events and only is None:
                continue
            ids.append(conn.execute(text("INSERT INTO webhook_deliveries (endpoint_id, event, payload) "
                                         "VALUES (:e, :k, CAST(:p AS jsonb)) RETURNING id"),
                                    {"e": endpoint_id, "k": item.kind,
                                     "p": json.dumps(notify.payload(item, fmt))}).scalar_one())
    return ids


def _cursor(conn: Connection, name: str, initial: Any) -> tuple[int, dict[str, Any]]:
    """Lock and read cursor ``name`` (created at ``initial()``'s position on first use)."""
    conn.execute(text("INSERT INTO notify_cursors (name, position) VALUES (:n, :p) ON CONFLICT (name) DO NOTHING"),
                 {"n": name, "p": initial()})
    row = conn.execute(text("SELECT position, state FROM notify_cursors WHERE name = :n FOR UPDATE"),
                       {"n": name}).one()
    return row[0], row[1]


def scan(*, url: str | None = None) -> list[int]:
    """Turn audit rows past the cursor into pending deliveries; returns their ids (to send).

    The first scan starts at the newest row: history is not replayed to new subscribers.
    """
    with get_engine(url).begin() as conn:
        newest = lambda: conn.execute(text("SELECT coalesce(max(id), 0) FROM flag_audit")).scalar_one()  # noqa: E731
        position, _ = _cursor(conn, "audit", newest)
        rows = conn.execute(text("SELECT id, action, domain, actor, reason, at, after FROM flag_audit WHERE id > :p "
                                 "ORDER BY id LIMIT :n"), {"p": position, "n": SCAN_BATCH}).fetchall()
        if not rows:
            return []
        notes = [n for r in rows if (n := notify.from_audit(r[1], r[2], r[3], r[4], r[5].isoformat(), r[6]))]
        ids = _enqueue(conn, notes)
        conn.execute(text("UPDATE notify_cursors SET position = :p, updated_at = now() WHERE name = 'audit'"),
                     {"p": rows[-1][0]})
    return ids


def note_dead_letters(counts: Mapping[tuple[str, str], int], *, url: str | None = None) -> list[int]:
    """Deliveries for dead letters that arrived since the last call (``(group, topic) → total so far``)."""
    now = datetime.now(UTC).isoformat()
    with get_engine(url).begin() as conn:
        _, seen = _cursor(conn, "dead_letters", lambda: 0)
        fresh = not seen
        notes = []
        state = dict(seen)
        for (group, topic), total in sorted(counts.items()):
            key = f"{group}|{topic}"
            before = int(seen.get(key, 0))
            if total > before and not fresh:
                notes.append(notify.dead_letters(group, topic, total - before, total, now))
            state[key] = max(before, total)
        ids = _enqueue(conn, notes)
        conn.execute(text("UPDATE notify_cursors SET state = CAST(:s AS jsonb), updated_at = now() "
                          "WHERE name = 'dead_letters'"), {"s": json.dumps(state or {"": 0})})
    return ids


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt did: ``delivered``, ``retry`` (after ``delay_s``) or ``failed``."""

    outcome: str
    delay_s: int = 0
    status: int | None = None
    error: str | None = None


def attempt(delivery_id: int, client: httpx.Client, *, max_attempts: int, backoff_s: int,
            url: str | None = None, now: float | None = None) -> Attempt:
    """Send delivery ``delivery_id`` once, signed; record the outcome and say whether to retry.

    The row stays locked for the send (bounded by the client's timeout), so two workers never
    send one delivery at once; a receiver may still see a delivery twice if its answer is lost,
    so the ``X-CinemaAbyss-Delivery`` id lets it drop repeats.
    """
    with get_engine(url).begin() as conn:
        row = conn.execute(text("SELECT d.state, d.attempts, d.event, d.payload, e.url, e.secret FROM "
                                "webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id "
                                "WHERE d.id = :i FOR UPDATE OF d SKIP LOCKED"), {"i": delivery_id}).first()
        if row is None or row[0] != "pending":
            return Attempt("failed" if row is None else row[0], error="not pending")
        _, attempts, kind, data, target, secret = row
        raw = notify.body(data)
        status: int | None = None
        error: str | None = None
        try:
            stamp = int(time.time() if now is None else now)
            headers = {**notify.signed_headers(secret, stamp, raw, kind), "X-CinemaAbyss-Delivery": str(delivery_id)}
            response = client.post(target, content=raw, headers=headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        attempts += 1
        if error is None:
            result = Attempt("delivered", status=status)
        elif attempts >= max_attempts:
            result = Attempt("failed", status=status, error=error)
        else:
            result = Attempt("retry", notify.backoff(attempts, backoff_s), status, error)
        conn.execute(text("UPDATE webhook_deliveries SET attempts = :a, last_status = :st, last_error = :err, "
                          "state = :state, delivered_at = CASE WHEN :done THEN now() END "
                          "WHERE id = :i"),
                     {"a": attempts, "st": status, "err": error, "i": delivery_id, "done": error is None,
                      "state": "pending" if result.outcome == "retry" else result.outcome})
    return result


def test_send(endpoint_id: int, actor: str, client: httpx.Client, *, url: str | None = None) -> Attempt:
    """Send a test notification to one endpoint now (one attempt, recorded and audited)."""
    note = notify.Notification("test", "info", "CinemaAbyss test notification",
                               f"sent from the console by {actor}", datetime.now(UTC).isoformat())
    with get_engine(url).begin() as conn:
        name = conn.execute(text("SELECT name FROM webhook_endpoints WHERE id = :i"), {"i": endpoint_id}).scalar()
        if name is None:
            raise NotFound(f"no webhook endpoint {endpoint_id}")
        ids = _enqueue(conn, [note], only=endpoint_id)
        _audit(conn, actor, "test_sent", None, {"id": endpoint_id, "name": name}, f"test send to {name}")
    if not ids:
        raise Conflict(f"endpoint {name} is switched off")
    return attempt(ids[0], client, max_attempts=1, backoff_s=0, url=url)
