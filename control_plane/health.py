"""Is each dependency up? Feeds the banner shown on every page when one is down."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text

from control_plane.clients import KAFKA_TIMEOUT, kafka_admin, redis_client
from kernel.db import read_session


def _database() -> None:
    with read_session() as session:
        session.execute(text("SELECT 1"))


def dependency_status() -> dict[str, str | None]:
    """``{name: None if up else the error}`` for PostgreSQL, Redis and Kafka, checked in parallel."""
    # the clients come from the app's settings: take them here, in the request's thread
    redis, admin = redis_client(), kafka_admin()
    checks = {"PostgreSQL": _database, "Redis": redis.ping,
              "Kafka": lambda: admin.list_topics(timeout=KAFKA_TIMEOUT / 2)}

    def run(check) -> str | None:
        try:
            check()
        except Exception as exc:  # any failure means "down"; its text goes into the banner
            return str(exc).splitlines()[0][:200] or type(exc).__name__
        return None

    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        results = {name: pool.submit(run, check) for name, check in checks.items()}
        return {name: future.result() for name, future in results.items()}
