"""Large data benchmark: 1M movies, 10M audit rows, 1M messages on a topic.

Measures, each as the median of ``--runs`` requests after one warm-up (target ≤ 300 ms):

* the console (Flask test client, logged in as an admin): movie list first page, a deep page,
  sorted by title, title search, genre and rating filters; the audit page unfiltered and
  filtered by domain, operator, action and time, and a deep audit page;
* the topic viewer on a 1M-message topic: newest, search, seek by offset and by time, export;
* the legacy unpaged ``GET /api/movies`` against a monolith process: time, bytes, and the
  process's RSS before, at its peak while streaming and after (sampled every 100 ms), next to
  the paged form at a deep offset;
* ``EXPLAIN ANALYZE`` of the database queries behind the console pages (``--explain``).

The data lives in a database of its own, ``<database>_bench_large``, filled once with
``generate_series`` and kept between runs (``--refill`` rebuilds it, ``--drop`` removes it);
the topic is throw-away. Row counts: ``--movies`` and ``--audit`` (the 10M default takes a few
minutes to insert on a small machine).

Run: ``.venv/bin/python bench/large_data.py [--movies N] [--audit N] [--messages N] [--only console,audit,kafka,api]``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.backlog import RssSampler, bench_database, exit_on_sigterm, load_average

MOVIES = 1_000_000
AUDIT = 10_000_000
MESSAGES = 1_000_000
TARGET_MS = 300.0
RUNS = 15
CHUNK = 1_000_000
GENRES = ("Drama", "Crime", "Action", "Comedy", "Romance", "Sci-Fi", "Horror", "Documentary")
ACTORS = 50
DOMAINS = ("movies", "users", "payments", "events")
# the audit trail's mix: mostly flag changes, some logins and catalogue changes
ACTIONS = ("flag.changed", "flag.changed", "flag.changed", "flag.auto_rollback", "operator.login",
           "operator.login_failed", "catalogue.movie.updated", "kafka.republished")

_MOVIES_SQL = """
INSERT INTO movies (id, title, description, rating, release_date, duration)
SELECT n, 'Large movie ' || lpad(n::text, 7, '0') || ' ' || md5(n::text),
       'generated for the large data benchmark', (n % 101) / 10.0,
       date '1950-01-01' + (n % 27000), 80 + n % 90
FROM generate_series(CAST(:first AS int), CAST(:last AS int)) AS n
"""
_GENRES_SQL = """
INSERT INTO movie_genres (movie_id, genre)
SELECT n, (CAST(:genres AS text[]))[1 + n % 8] FROM generate_series(CAST(:first AS int), CAST(:last AS int)) AS n
UNION ALL
SELECT n, (CAST(:genres AS text[]))[1 + (n + 3) % 8] FROM generate_series(CAST(:first AS int), CAST(:last AS int)) AS n
"""
# ``at`` spreads the rows over the last ~4 months, one every second, newest last
_AUDIT_SQL = """
INSERT INTO flag_audit (at, actor, action, domain, before, after, reason)
SELECT now() - make_interval(secs => CAST(:total AS bigint) - n),
       'operator' || (n % :actors),
       (CAST(:actions AS text[]))[1 + n % 8],
       (CAST(:domains AS text[]))[1 + n % 4],
       jsonb_build_object('mode', 'monolith', 'percent', n % 100),
       jsonb_build_object('mode', 'gradual', 'percent', (n + 10) % 100, 'ip', '10.0.' || (n % 250) || '.1'),
       'bench row ' || n
FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS n
"""


def _count(engine, table: str) -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608 (table names are constants)


def fill(url: str, movies: int, audit: int, refill: bool) -> None:
    """Insert the movies and audit rows unless the database already holds exactly these counts."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        # at least: a run's console sign-ins add audit rows, the console bench may add movies
        if refill or _count(engine, "movies") < movies:
            started = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(text("TRUNCATE movies CASCADE"))
            for first in range(1, movies + 1, CHUNK):
                bounds = {"first": first, "last": min(movies, first + CHUNK - 1)}
                with engine.begin() as conn:
                    conn.execute(text(_MOVIES_SQL), bounds)
                    conn.execute(text(_GENRES_SQL), {**bounds, "genres": list(GENRES)})
            with engine.begin() as conn:
                conn.execute(text("SELECT setval(pg_get_serial_sequence('movies', 'id'), :n)"), {"n": movies})
            print(f"inserted {movies:,} movies (+{2 * movies:,} genres) in {time.perf_counter() - started:.0f}s",
                  flush=True)
        if refill or _count(engine, "flag_audit") < audit:
            started = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(text("TRUNCATE flag_audit"))
            for first in range(1, audit + 1, CHUNK):
                with engine.begin() as conn:
                    conn.execute(text(_AUDIT_SQL), {"first": first, "last": min(audit, first + CHUNK - 1),
                                                    "total": audit, "actors": ACTORS, "actions": list(ACTIONS),
                                                    "domains": list(DOMAINS)})
                print(f"  audit rows: {min(audit, first + CHUNK - 1):,}", flush=True)
            print(f"inserted {audit:,} audit rows in {time.perf_counter() - started:.0f}s", flush=True)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE movies, movie_genres, flag_audit"))
    finally:
        engine.dispose()


def _timed(client, path: str, runs: int) -> tuple[float, float, float, int]:
    """(median ms, max ms, median CPU ms of this process, bytes) of ``runs`` GETs after one warm-up.

    The CPU time is what the request cost the console (its database and broker waits are not
    in it); on a machine shared with other work it varies far less than the wall time.
    """
    first = client.get(path)
    assert first.status_code == 200, (path, first.status_code, first.get_data(as_text=True)[:300])
    samples, cpu = [], []
    for _ in range(runs):
        started, cpu0 = time.perf_counter(), time.process_time()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu0) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(samples), max(samples), statistics.median(cpu), len(first.get_data())


def _console(url: str):
    """A logged-in (admin) test client of the console on the bench database."""
    from control_plane import create_app, operators
    from kernel.db import bind
    from kernel.settings import load_settings

    bind(url)
    name, password = f"bench-{uuid.uuid4().hex[:6]}", "bench-password-123"
    operators.create_operator(name, "admin", password)
    app = create_app(load_settings(database_url=url, secret_key="bench"))  # noqa: S106 (throw-away key)
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    login = client.post("/login", data={"username": name, "password": password, "csrf_token": token})
    assert login.status_code == 302, login.status_code
    return client


def _report(title: str, cases: dict[str, str], client, runs: int) -> list[tuple[str, float]]:
    print(f"{title} (load {load_average()})", flush=True)
    medians = []
    for name, path in cases.items():
        median, worst, cpu, size = _timed(client, path, runs)
        verdict = "ok" if median <= TARGET_MS else "OVER"
        print(f"  {name:34s} median {median:7.1f} ms  max {worst:7.1f} ms  cpu {cpu:6.1f} ms  "
              f"{size / 1024:6.0f} KiB  {verdict}  {path}", flush=True)
        medians.append((name, median))
    return medians


def movie_view(app):
    """The console's Flask-Admin movie list view."""
    admin = app.extensions["admin"]
    admin = admin[0] if isinstance(admin, list) else admin
    return next(v for v in admin._views if getattr(v, "entity", "") == "movie")


def _filter(app, column: str, operation: str) -> str:
    """The movie list's URL argument of a flask-admin filter (``flt0_<index>``), found by name.

    The index depends on the view's ``column_filters``; a wrong one is silently ignored by
    flask-admin (or picks another filter), which would time the wrong list.
    """
    return movie_view(app).filter_arg(column, operation)


def console_cases(app, movies: int) -> dict[str, str]:
    """The movie list pages the console serves."""
    deep = max(1, movies // 50 // 2)
    genre, rating = _filter(app, "movie_genres.genre", "equals"), _filter(app, "movies.rating", "equals")
    above = _filter(app, "movies.rating", "greater than")
    return {
        "movies: first page": "/admin/movies/",
        f"movies: page {deep + 1:,}": f"/admin/movies/?page={deep}",
        "movies: sorted by title": "/admin/movies/?sort=1",
        "movies: sorted by rating desc": "/admin/movies/?sort=2&desc=1",
        "movies: sorted by release date desc": "/admin/movies/?sort=4&desc=1",
        "movies: title search": "/admin/movies/?search=movie+0500",
        "movies: title search (no hit)": "/admin/movies/?search=zzzz",
        "movies: genre filter": f"/admin/movies/?{genre}=Crime",
        "movies: rating filter": f"/admin/movies/?{rating}=7.5",
        "movies: rating above 9.9": f"/admin/movies/?{above}=9.9",
        "movies: genre + title search": f"/admin/movies/?{genre}=Crime&search=movie+0500",
        "movies: new-movie form (genre suggestions)": "/admin/movies/new/",
    }


def audit_cases(audit: int) -> dict[str, str]:
    """The audit page and its filters."""
    since = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() - 3600))
    return {
        "audit: newest": "/audit",
        "audit: domain": "/audit?domain=payments",
        "audit: operator": "/audit?actor=operator7",
        "audit: operator, part of a name": "/audit?actor=rator4",
        "audit: operator, no match": "/audit?actor=nobody-such",
        "audit: action family": "/audit?action=flag",
        "audit: exact action": "/audit?action=kafka.republished",
        "audit: last hour": f"/audit?since={since}",
        "audit: sign-ins of one operator": "/audit?kind=logins&actor=operator7&action=operator.login_failed",
        "audit: all kinds": "/audit?kind=all",
        "audit: page 200": "/audit?page=200",
    }


def kafka_cases(topic: str, messages: int) -> dict[str, str]:
    """The topic viewer's reads."""
    since = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() - 30))
    return {
        "topic: newest 50": f"/kafka/{topic}",
        "topic: newest 50 (fragment)": f"/kafka/{topic}/messages",
        "topic: consumer groups (fragment)": f"/kafka/{topic}/groups",
        "topic: search newest 10k": f"/kafka/{topic}/messages?q=%22n%22%3A+{messages - 17}",
        "topic: seek offset": f"/kafka/{topic}/messages?partition=1&offset={messages // 6}",
        "topic: seek time": f"/kafka/{topic}/messages?since={since}",
        "topic: export newest 50": f"/kafka/{topic}/export.json",
    }


def produce(brokers: str, topic: str, count: int) -> float:
    """``count`` small JSON messages over 1,000 keys; returns the seconds until all are acknowledged."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": brokers, "linger.ms": 50, "batch.size": 1_000_000,
                         "batch.num.messages": 10_000, "compression.type": "lz4",
                         "queue.buffering.max.messages": 1_000_000, "acks": "1"})
    started = time.perf_counter()
    for i in range(count):
        value = b'{"type": "bench", "action": "created", "payload": {"n": %d}}' % i
        while True:
            try:
                producer.produce(topic, key=str(i % 1000).encode(), value=value)
                break
            except BufferError:
                producer.poll(0.05)
        if i % 10_000 == 0:
            producer.poll(0)
    if producer.flush(120):
        raise RuntimeError("messages not delivered")
    return time.perf_counter() - started


def explain(url: str, movies: int) -> None:
    """EXPLAIN ANALYZE of the queries behind the pages (what the indexes must serve)."""
    from sqlalchemy import create_engine, text

    queries = {
        "movies page (offset)": f"SELECT id FROM movies ORDER BY id DESC OFFSET {movies // 2:d} LIMIT 51",  # noqa: S608
        "movies by title": "SELECT id FROM movies ORDER BY title LIMIT 51",
        "movies by rating": "SELECT id FROM movies ORDER BY rating DESC LIMIT 51",
        "movies by release date": "SELECT id FROM movies ORDER BY release_date DESC LIMIT 51",
        "title search": "SELECT id FROM movies WHERE title ILIKE '%movie 0500%' ORDER BY id DESC LIMIT 51",
        "genre filter": "SELECT m.id FROM movies m JOIN movie_genres g ON g.movie_id = m.id "
                        "WHERE g.genre = 'Crime' ORDER BY m.id DESC LIMIT 51",
        "genre count (capped)": "SELECT count(*) FROM (SELECT 1 FROM movies m JOIN movie_genres g "
                                "ON g.movie_id = m.id WHERE g.genre = 'Crime' LIMIT 10001) AS c",
        "audit newest": "SELECT id FROM flag_audit ORDER BY at DESC, id DESC LIMIT 51",
        "audit domain": "SELECT id FROM flag_audit WHERE domain = 'payments' ORDER BY at DESC, id DESC LIMIT 51",
        "audit actor": "SELECT id FROM flag_audit WHERE actor = 'operator7' ORDER BY at DESC, id DESC LIMIT 51",
        "audit actor no match": "SELECT id FROM flag_audit WHERE actor ILIKE '%nobody-such%' "
                                "ORDER BY at DESC, id DESC LIMIT 51",
        "audit action family": "SELECT id FROM flag_audit WHERE action LIKE 'flag%' ORDER BY at DESC, id DESC "
                               "LIMIT 51",
        "audit actor+action": "SELECT id FROM flag_audit WHERE actor = 'operator7' AND action = "
                              "'operator.login_failed' ORDER BY at DESC, id DESC LIMIT 51",
        "audit actions (distinct)": "SELECT DISTINCT action FROM flag_audit ORDER BY action",
    }
    from control_plane.audit_log import _DISTINCT_ACTIONS

    queries["audit actions (loose)"] = _DISTINCT_ACTIONS.text
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            for name, sql in queries.items():
                plan = [r[0] for r in conn.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}"))]
                top = [line.strip() for line in plan if "Scan" in line or "Sort" in line][:3]
                print(f"  {name:22s} {plan[-1].strip():28s} {' | '.join(top)}")
    finally:
        engine.dispose()


def legacy_list(url: str, movies: int) -> None:
    """The unpaged ``GET /api/movies`` on a monolith process: time, bytes and the process's RSS."""
    import httpx

    from tests.support.processes import free_port, start_process

    port = free_port()
    monolith = start_process("bench-large-monolith", "domain_services.monolith", port=port,
                             env={"DATABASE_URL": url, "LOG_LEVEL": "WARNING", "WEB_WORKERS": "1"})
    try:
        base = monolith.url
        httpx.get(f"{base}/api/movies?limit=50", timeout=30).raise_for_status()  # warm-up
        paged = []
        for _ in range(5):
            started = time.perf_counter()
            httpx.get(f"{base}/api/movies?limit=50&offset={movies // 2}", timeout=30).raise_for_status()
            paged.append((time.perf_counter() - started) * 1000)
        with RssSampler({"monolith": monolith.popen.pid}, interval=0.1) as sampler:
            time.sleep(0.3)
            started = time.perf_counter()
            size = items = 0
            with httpx.stream("GET", f"{base}/api/movies", timeout=600) as response:
                response.raise_for_status()
                first_byte = (time.perf_counter() - started) * 1000
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    items += chunk.count(b'{"id":')
            seconds = time.perf_counter() - started
            time.sleep(0.5)
        rss = [mb for _t, mb in sampler.samples["monolith"] if mb]
        print(f"legacy GET /api/movies at {movies:,} movies (load {load_average()}): {items:,} items, "
              f"{size / 1e6:.0f} MB in {seconds:.1f}s, first byte {first_byte:.0f} ms", flush=True)
        print(f"  monolith RSS before {rss[0]:.0f} MB, peak {max(rss):.0f} MB, after {rss[-1]:.0f} MB "
              f"(growth {max(rss) - rss[0]:.0f} MB)", flush=True)
        print(f"  paged form ?limit=50&offset={movies // 2:,}: median {statistics.median(paged):.0f} ms", flush=True)
    finally:
        monolith.stop()


def main() -> None:
    """Fill (once), then time every page; prints the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--movies", type=int, default=MOVIES)
    parser.add_argument("--audit", type=int, default=AUDIT)
    parser.add_argument("--messages", type=int, default=MESSAGES)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--only", default="console,audit,kafka,api")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--refill", action="store_true")
    parser.add_argument("--drop", action="store_true", help="drop the bench database at the end")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    exit_on_sigterm()

    from kernel.settings import get_settings, load_settings

    base_url = load_settings().database_url
    url = bench_database(base_url, "bench_large")
    os.environ["DATABASE_URL"] = url  # this process's settings (console, kafka reader) use the bench DB
    get_settings.cache_clear()
    print(f"large data bench (load {load_average()}, {os.cpu_count()} cores)", flush=True)
    try:
        fill(url, args.movies, args.audit, args.refill)
        if args.explain:
            explain(url, args.movies)
        medians: list[tuple[str, float]] = []
        if parts & {"console", "audit", "kafka"}:
            client = _console(url)
            if "console" in parts:
                cases = console_cases(client.application, args.movies)
                medians += _report(f"console at {args.movies:,} movies", cases, client, args.runs)
            if "audit" in parts:
                medians += _report(f"audit page at {args.audit:,} rows", audit_cases(args.audit), client, args.runs)
            if "kafka" in parts:
                medians += _kafka(client, args.messages, args.runs)
        if "api" in parts:
            legacy_list(url, args.movies)
        if medians:
            name, worst = max(medians, key=lambda m: m[1])
            verdict = "OK" if worst <= TARGET_MS else "OVER TARGET"
            print(f"worst median {worst:.1f} ms ({name}) vs target {TARGET_MS:.0f} ms → ratio "
                  f"{worst / TARGET_MS:.2f} ({verdict})")
    finally:
        from kernel.db import dispose_engines

        dispose_engines()
        if args.drop:
            _drop(base_url, url)


def _kafka(client, messages: int, runs: int) -> list[tuple[str, float]]:
    from confluent_kafka.admin import AdminClient, NewTopic

    from kernel.settings import get_settings

    brokers = get_settings().kafka_brokers
    topic = f"bench-large-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": brokers})
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(15)
    try:
        seconds = produce(brokers, topic, messages)
        print(f"produced {messages:,} messages to {topic} in {seconds:.0f}s", flush=True)
        return _report(f"topic viewer at {messages:,} messages", kafka_cases(topic, messages), client, runs)
    finally:
        admin.delete_topics([topic])[topic].result(15)


def _drop(base_url: str, url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(make_url(base_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    engine.dispose()


if __name__ == "__main__":
    main()
