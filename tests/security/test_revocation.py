"""Revocation reaches every gateway within 2 s (LISTEN/NOTIFY), and survives a reconnect."""

from __future__ import annotations

import time

import httpx
import psycopg

from kernel import revocations
from tests.proxy.conftest import health, libpq_url
from tests.support.processes import wait_until

USER = 990_001


def _revoke(db_url: str, user_id: int, reason: str = "test") -> float:
    """Revoke as the users service does (shared SQL: upsert + NOTIFY in one statement)."""
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        return conn.execute(revocations.REVOKE, revocations.revoke_params(user_id, reason)).fetchone()[0]


def _forget(db_url: str, user_id: int) -> None:
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute("DELETE FROM token_revocations WHERE user_id = %s", (user_id,))


def test_revocation_refuses_tokens_at_two_gateways_within_two_seconds(gateway_factory, db_url, token_for):
    _forget(db_url, USER)
    gateways = [gateway_factory(), gateway_factory(WEB_WORKERS="2")]
    token = token_for("user", user_id=USER)
    # no keep-alive: every request opens a connection, so every worker of a gateway gets asked
    clients = [httpx.Client(base_url=g.url, headers={"Authorization": f"Bearer {token}"},
                            limits=httpx.Limits(max_keepalive_connections=0)) for g in gateways]
    try:
        for client in clients:
            for _ in range(4):  # both workers of the second gateway have it cached and accepted
                assert client.get("/api/payments").status_code == 200
        not_before = _revoke(db_url, USER)
        revoked_at = time.monotonic()
        for client in clients:
            wait_until(lambda c=client: all(c.get("/api/payments").status_code == 401 for _ in range(4)),
                       timeout=2.0, interval=0.01, message="token refused")
        elapsed = time.monotonic() - revoked_at
        print(f"revocation refused at both gateways after {elapsed * 1000:.0f} ms")
        assert elapsed < 2.0
        refused = clients[0].get("/api/payments")
        assert refused.json() == {"error": "token revoked"}
        # a token issued after the revocation (a new login) works again
        fresh = token_for("user", user_id=USER, now=not_before + 0.001)
        for g in gateways:
            assert httpx.get(f"{g.url}/api/payments", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    finally:
        for client in clients:
            client.close()
        _forget(db_url, USER)


def test_revocations_present_at_start_are_loaded(gateway_factory, db_url, token_for):
    token = token_for("user", user_id=USER + 1, now=time.time() - 1)
    _revoke(db_url, USER + 1)
    try:
        gateway = gateway_factory()
        assert health(gateway)["revocations"]["revoked_users"] >= 1
        response = httpx.get(f"{gateway.url}/api/payments", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401 and response.json() == {"error": "token revoked"}
    finally:
        _forget(db_url, USER + 1)
