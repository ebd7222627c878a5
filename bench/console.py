"""Console benchmark, server time in-process (no network):

* the Flask-Admin movie list with 100,000 movies (target ≤ 200 ms median): first page, a deep
  page, a sorted page, a title search, a genre filter;
* the dashboard with 24 h of traffic history (target ≤ 300 ms median): 8,640 ten-second
  buckets for every route and backend (86,400 rollup rows with latency histograms) plus ten
  minutes of per-second gateway counters in Redis — the page, its polled health table, a
  strangler card's health line and the 5 min / 1 h / 24 h chart data.

Creates a throw-away database ``<db>_bench_console`` and uses Redis database 15 of
``REDIS_URL`` (``BENCH_REDIS_URL`` overrides) so the live stack's counters are untouched;
drops the database and the counters at the end.

Run: ``.venv/bin/python bench/console.py [movies|dashboard]`` (default: both)
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MOVIES = 100_000
TARGET_MS = 200.0
DASHBOARD_TARGET_MS = 300.0
RUNS = 20
HISTORY_HOURS = 24


def _admin_url(url: str, database: str):
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database)


def _create_database(base_url: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{make_url(base_url).database}_bench_console"
    engine = create_engine(_admin_url(base_url, "postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return _admin_url(base_url, name).render_as_string(hide_password=False)


def _drop_database(base_url: str, url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(_admin_url(base_url, "postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    engine.dispose()


def _fill(url: str) -> float:
    """COPY ``MOVIES`` movies and two genres each; returns seconds taken."""
    import psycopg
    from sqlalchemy.engine import make_url

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    genres = ("Drama", "Crime", "Action", "Comedy", "Romance", "Sci-Fi", "Horror", "Documentary")
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy("COPY movies (id, title, description, rating) FROM STDIN") as copy:
            for i in range(1, MOVIES + 1):
                copy.write_row((i, f"Bench movie {i:06d}", "generated for the console benchmark", (i % 100) / 10))
        with cur.copy("COPY movie_genres (movie_id, genre) FROM STDIN") as copy:
            for i in range(1, MOVIES + 1):
                copy.write_row((i, genres[i % 8]))
                copy.write_row((i, genres[(i + 3) % 8]))
        cur.execute("SELECT setval(pg_get_serial_sequence('movies', 'id'), %s)", (MOVIES,))
        cur.execute("ANALYZE movies; ANALYZE movie_genres")
    return time.perf_counter() - started


def _fill_history(url: str, redis_url: str) -> float:
    """24 h of 10-second rollup rows for every route and backend, and 10 min of per-second counters."""
    import json
    import random

    import psycopg
    import redis
    from sqlalchemy.engine import make_url

    from control_plane.migration_health import ROUTES
    from strangler.rollout_gates import latency_field

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    rng = random.Random(7)
    now = int(time.time())
    first = now - now % 10 - HISTORY_HOURS * 3600
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        columns = "bucket, route, backend, ok, err, p50_ms, p99_ms, latency"
        with cur.copy(f"COPY traffic_rollup ({columns}) FROM STDIN") as copy:
            for bucket in range(first, now - now % 10, 10):
                at = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(bucket))
                for route in ROUTES.values():
                    for backend, base in (("monolith", 12), ("service", 9)):
                        histogram = {str(i): rng.randint(1, 40) for i in range(base, base + 12)}
                        copy.write_row((at, route, backend, rng.randint(200, 900), rng.randint(0, 9),
                                        round(rng.uniform(3, 9), 2), round(rng.uniform(20, 80), 2),
                                        json.dumps(histogram)))
        cur.execute("ANALYZE traffic_rollup")
    client = redis.Redis.from_url(redis_url)
    pipe = client.pipeline(transaction=False)
    for second in range(now - 600, now + 120):
        fields = {}
        for route in ROUTES.values():
            for backend in ("monolith", "service"):
                fields[f"{route}:{backend}:ok"] = rng.randint(20, 90)
                fields[f"{route}:{backend}:err"] = rng.randint(0, 2)
                for _ in range(12):
                    name = latency_field(route, backend, rng.uniform(0.002, 0.06))
                    fields[name] = fields.get(name, 0) + 1
        pipe.hset(f"traffic:{second}", mapping=fields)
        pipe.expire(f"traffic:{second}", 900)
    pipe.execute()
    return time.perf_counter() - started


def _bench_redis_url(redis_url: str) -> str:
    return os.environ.get("BENCH_REDIS_URL") or redis_url.rsplit("/", 1)[0] + "/15"


def _time(client, path: str) -> list[float]:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return samples


def _report(client, cases: dict[str, str], target: float) -> None:
    worst = 0.0
    for name, path in cases.items():
        samples = sorted(_time(client, path))
        median, p95 = statistics.median(samples), samples[int(len(samples) * 0.95) - 1]
        worst = max(worst, median)
        print(f"{name:28s} median {median:7.1f} ms   p95 {p95:7.1f} ms   ({path})")
    verdict = "OK" if worst <= target else "OVER TARGET"
    print(f"worst median {worst:.1f} ms vs target {target:.0f} ms → ratio {worst / target:.2f} ({verdict})")


def main() -> None:
    """Build the data sets, time the list page variants and the dashboard, print the figures."""
    from kernel.settings import load_settings

    parts = set(sys.argv[1:]) or {"movies", "dashboard"}
    base_url = load_settings().database_url
    redis_url = _bench_redis_url(load_settings().redis_url)
    url = _create_database(base_url)
    try:
        os.environ["DATABASE_URL"] = url  # every module of this process (and its settings) now uses the bench DB
        os.environ["REDIS_URL"] = redis_url  # and a Redis database of its own
        from alembic import command

        from cinemaabyss.commands.db import alembic_config
        from kernel.settings import get_settings

        get_settings.cache_clear()
        config = alembic_config(url)
        config.attributes["configure_logging"] = False
        command.upgrade(config, "head")
        if "movies" in parts:
            print(f"inserted {MOVIES:,} movies (+{2 * MOVIES:,} genres) in {_fill(url):.1f} s")
        if "dashboard" in parts:
            print(f"inserted {HISTORY_HOURS} h of traffic history and 10 min of gateway counters in "
                  f"{_fill_history(url, redis_url):.1f} s")

        from control_plane import create_app, operators
        from kernel.db import bind

        bind(url)  # this process is the bench's composition root
        info = operators.create_operator("bench-editor", "editor", "bench-password-123")
        app = create_app(load_settings(database_url=url, redis_url=redis_url,
                                       secret_key="bench"))  # noqa: S106 (throw-away key)
        client = app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
        login = client.post("/login", data={"username": info.username, "password": "bench-password-123",
                                            "csrf_token": token})
        assert login.status_code == 302, login.status_code
        if "movies" in parts:
            from bench.large_data import movie_view

            # looked up by name: flt0_0 is whichever filter column_filters lists first (the rating)
            genre_filter = movie_view(app).filter_arg("movie_genres.genre", "equals")
            client.get("/admin/movies/")  # warm-up: imports, pools, template compilation
            _report(client, {
                "first page": "/admin/movies/",
                "page 1000 (offset 50,000)": "/admin/movies/?page=999",
                "sorted by title": "/admin/movies/?sort=1",
                "title search": "/admin/movies/?search=movie+05",
                "genre filter": f"/admin/movies/?{genre_filter}=Crime",
            }, TARGET_MS)
        if "dashboard" in parts:
            client.get("/")  # warm-up
            _report(client, {
                "dashboard page": "/",
                "health table (polled)": "/dashboard/flags",
                "card health line": "/dashboard/movies/health",
                "chart data 5 min": "/dashboard/history.json?domain=movies&range=5m",
                "chart data 1 h": "/dashboard/history.json?domain=movies&range=1h",
                "chart data 24 h": "/dashboard/history.json?domain=movies&range=24h",
            }, DASHBOARD_TARGET_MS)
    finally:
        import redis

        from kernel.db import dispose_engines

        dispose_engines()
        _drop_database(base_url, url)
        if "dashboard" in parts:
            client = redis.Redis.from_url(redis_url)
            keys = list(client.scan_iter("traffic:*"))
            if keys:
                client.delete(*keys)


if __name__ == "__main__":
    main()
