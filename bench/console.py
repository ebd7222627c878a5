"""Console benchmark: the Flask-Admin movie list with 100,000 movies, server time (target ≤ 200 ms).

Creates a throw-away database ``<db>_bench_console``, migrates it, COPYs 100,000 movies (with
genres), then times ``GET /admin/movies/`` in-process (no network: pure server time) for the
first page, a deep page, a sorted page and a title search. Drops the database at the end.

Run: ``.venv/bin/python bench/console.py``
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
RUNS = 20


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


def _time(client, path: str) -> list[float]:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return samples


def main() -> None:
    """Build the data set, time the list page variants, print the figures."""
    from kernel.settings import load_settings

    base_url = load_settings().database_url
    url = _create_database(base_url)
    try:
        os.environ["DATABASE_URL"] = url  # every module of this process (and its settings) now uses the bench DB
        from alembic import command

        from cinemaabyss.commands.db import alembic_config
        from kernel.settings import get_settings

        get_settings.cache_clear()
        config = alembic_config(url)
        config.attributes["configure_logging"] = False
        command.upgrade(config, "head")
        print(f"inserted {MOVIES:,} movies (+{2 * MOVIES:,} genres) in {_fill(url):.1f} s")

        from control_plane import create_app, operators
        from kernel.db import bind

        bind(url)  # this process is the bench's composition root
        info = operators.create_operator("bench-editor", "editor", "bench-password-123")
        app = create_app(load_settings(database_url=url, secret_key="bench"))  # noqa: S106 (throw-away key)
        client = app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
        login = client.post("/login", data={"username": info.username, "password": "bench-password-123",
                                            "csrf_token": token})
        assert login.status_code == 302, login.status_code
        client.get("/admin/movies/")  # warm-up: imports, pools, template compilation
        cases = {
            "first page": "/admin/movies/",
            "page 1000 (offset 50,000)": "/admin/movies/?page=999",
            "sorted by title": "/admin/movies/?sort=1",
            "title search": "/admin/movies/?search=movie+05",
            "genre filter": "/admin/movies/?flt0_0=Crime",
        }
        worst = 0.0
        for name, path in cases.items():
            samples = sorted(_time(client, path))
            median, p95 = statistics.median(samples), samples[int(len(samples) * 0.95) - 1]
            worst = max(worst, median)
            print(f"{name:28s} median {median:7.1f} ms   p95 {p95:7.1f} ms   ({path})")
        verdict = "OK" if worst <= TARGET_MS else "OVER TARGET"
        print(f"worst median {worst:.1f} ms vs target {TARGET_MS:.0f} ms → ratio {worst / TARGET_MS:.2f} ({verdict})")
    finally:
        from kernel.db import dispose_engines

        dispose_engines()
        _drop_database(base_url, url)


if __name__ == "__main__":
    main()
