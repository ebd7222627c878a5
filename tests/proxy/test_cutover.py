"""Zero-failure cut-over, live: a real movies service SIGKILLed under mixed load, Idempotency-Key,
broken read bodies replayed, and a rollout plan advancing on green gates and retreating on 5xx."""

from __future__ import annotations

import os
import signal
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest
import redis

from cinemaabyss.drill import DrillTarget, run_drill
from kernel.tokens import issue_token
from strangler import flags, rollouts
from tests.proxy.conftest import health, libpq_url
from tests.support.processes import free_port, start_process, wait_until

ONE_MOVIE = "/api/movies?id=1"


@pytest.fixture
def editor_token(jwt_keys) -> str:
    """An access token allowed to write movies through the gateway."""
    return issue_token(1, jwt_keys[0], 3600, role="editor")


@pytest.fixture
def real_movies(db_url):
    """The real movies service on a fixed free port, restartable on that port."""
    port = free_port()
    procs = []

    def start():
        proc = start_process("movies-service", "domain_services.movies", port=port, health_path="/api/movies/health",
                             env={"WEB_WORKERS": "2"})
        procs.append(proc)
        return proc

    start()
    yield {"url": f"http://127.0.0.1:{port}", "procs": procs, "start": start}
    for proc in procs:
        proc.stop()


def _movie_rows(db_url: str, title: str) -> int:
    with psycopg.connect(libpq_url(db_url)) as conn:
        return conn.execute("SELECT count(*) FROM movies WHERE title = %s", [title]).fetchone()[0]


def test_service_sigkilled_under_mixed_load_fails_nothing_and_rolls_back_within_a_second(
        proxy_factory, db_url, real_movies, editor_token):
    proxy = proxy_factory(MOVIES_SERVICE_URL=real_movies["url"])

    def kill() -> None:
        os.killpg(real_movies["procs"][-1].popen.pid, signal.SIGKILL)  # master and workers at once

    target = DrillTarget(domain="movies", proxy_url=proxy.url, database_url=libpq_url(db_url), kill=kill,
                         restart=real_movies["start"], token=editor_token, sqlalchemy_url=db_url)
    report = run_drill(target, steps=(10, 50, 100), step_seconds=2.0, read_rate=90, write_rate=40, writers=8,
                       settle_seconds=2.0)
    print("\n".join(report.lines()))
    # the rates are targets; on a loaded machine fewer get through, but enough to mean something
    assert report.reads >= 200 and report.writes >= 20, report.lines()
    assert report.failed_reads == 0, report.failures
    assert report.failed_writes == 0, report.failures
    assert report.in_flight_ok == report.in_flight, report.lines()  # writes caught by the kill did not fail
    assert report.duplicates == 0 and report.created == report.writes, report.lines()
    assert report.rollback_s is not None and report.rollback_s <= 1.0, report.lines()
    assert report.flips == 0
    assert report.recover_s is not None
    assert health(proxy)["flags"]["movies"]["mode"] == "service"


def test_idempotency_key_replays_the_first_answer_and_creates_one_row(proxy_factory, db_url, editor_token):
    proxy = proxy_factory()
    title = f"idem-{uuid.uuid4().hex[:10]}"
    body = {"title": title, "description": "d", "rating": 4.0, "genres": ["Drama"]}
    headers = {"Authorization": f"Bearer {editor_token}", "Idempotency-Key": title}
    with httpx.Client(base_url=proxy.url, timeout=10) as client:
        with ThreadPoolExecutor(5) as pool:
            answers = list(pool.map(lambda _: client.post("/api/movies", json=body, headers=headers), range(5)))
        assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
        assert len({a.json()["id"] for a in answers}) == 1
        again = client.post("/api/movies", json=body, headers=headers)
        assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
        assert again.json() == answers[0].json()
        other = client.post("/api/movies", json={**body, "rating": 3.0}, headers=headers)
        assert other.status_code == 422 and "error" in other.json()
        bad = client.post("/api/movies", json=body, headers={**headers, "Idempotency-Key": "x" * 300})
        assert bad.status_code == 400 and "error" in bad.json()
    assert _movie_rows(db_url, title) == 1


def test_a_read_whose_body_breaks_before_the_client_got_a_byte_is_served_by_the_monolith(
        proxy_factory, db_url):
    proxy = proxy_factory()
    flags.set_flag("movies", {"mode": "service", "rollback_consecutive": 1000}, "test", url=db_url)
    wait_until(lambda: health(proxy)["flags"]["movies"]["mode"] == "service", timeout=5)
    response = httpx.get(f"{proxy.url}/api/movies?id=1&broken=1", timeout=10)
    assert response.status_code == 200 and response.headers["x-upstream"] == "monolith"
    assert response.json()  # a complete answer, not the service's broken one


def test_a_write_to_a_refusing_service_goes_to_the_monolith(proxy_factory, db_url, editor_token):
    port = free_port()  # nothing listens here: connection refused
    proxy = proxy_factory(MOVIES_SERVICE_URL=f"http://127.0.0.1:{port}")
    flags.set_flag("movies", {"mode": "service", "auto_rollback": False}, "test", url=db_url)
    wait_until(lambda: health(proxy)["flags"]["movies"]["mode"] == "service", timeout=5)
    title = f"refused-{uuid.uuid4().hex[:10]}"
    response = httpx.post(f"{proxy.url}/api/movies", headers={"Authorization": f"Bearer {editor_token}"},
                          json={"title": title, "description": "d", "rating": 4.0, "genres": []}, timeout=10)
    assert response.status_code == 201 and response.headers["x-upstream"] == "monolith"
    assert _movie_rows(db_url, title) == 1


def _get_load(url: str, stop: threading.Event, seen: dict) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        n = 0
        while not stop.is_set():
            n += 1
            status = client.get(ONE_MOVIE, headers={"X-User-Id": f"plan-{n % 200}"}).status_code
            seen[status] = seen.get(status, 0) + 1


def _audit_actions(db_url: str, since_id: int) -> list[tuple[str, str]]:
    with psycopg.connect(libpq_url(db_url)) as conn:
        return conn.execute("SELECT action, reason FROM flag_audit WHERE id > %s AND domain = 'movies' ORDER BY id",
                            [since_id]).fetchall()


def test_plan_advances_on_green_gates_and_retreats_on_a_5xx_burst(proxy_factory, db_url, movies_service, redis_url):
    proxy = proxy_factory()
    flags.set_flag("movies", {"auto_rollback": False}, "test", url=db_url)  # the plan's gate must act, not the proxy
    with psycopg.connect(libpq_url(db_url)) as conn:
        since = conn.execute("SELECT coalesce(max(id), 0) FROM flag_audit").fetchone()[0]
        conn.execute("DELETE FROM rollout_plans WHERE domain = 'movies'")
        conn.commit()
    client = redis.Redis.from_url(redis_url)
    rollouts.start("movies", "test", steps="10,50,100", hold_seconds=1,
                   gates={"min_requests": 20, "max_error_rate": 0.05}, url=db_url)
    stop, seen = threading.Event(), {}
    threads = [threading.Thread(target=_get_load, args=(proxy.url, stop, seen)) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        def at(percent: int) -> bool:
            rollouts.tick(client, url=db_url)
            return rollouts.get_plan("movies", url=db_url)["percent"] >= percent

        wait_until(lambda: at(50), timeout=30, interval=0.2, message="plan advanced to 50%")
        assert flags.get_flag("movies", url=db_url)["percent"] == 50

        with psycopg.connect(libpq_url(db_url)) as lock:  # a second runner holds the lock: this tick waits its turn
            lock.execute("SELECT pg_advisory_lock(%s)", [rollouts.RUNNER_LOCK_ID])
            assert rollouts.tick(client, url=db_url) == {}

        httpx.post(f"{movies_service.url}/__control/fail?status=500")
        wait_until(lambda: rollouts.tick(client, url=db_url).get("movies") == "rolled_back"
                   or rollouts.get_plan("movies", url=db_url)["state"] == "rolled_back",
                   timeout=20, interval=0.2, message="plan rolled back")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        httpx.post(f"{movies_service.url}/__control/fail?status=0")
    assert flags.get_flag("movies", url=db_url)["mode"] == "monolith"
    actions = _audit_actions(db_url, since)
    names = [a for a, _ in actions]
    assert "rollout.started" in names and "rollout.advanced" in names and "rollout.rolled_back" in names
    assert any(a == "rollout.rolled_back" and "red gate: service error rate" in r for a, r in actions)
    assert set(seen) == {200}, seen  # reads fell back to the monolith during the burst


def _service_mode(proxy, db_url) -> None:
    flags.set_flag("movies", {"mode": "service", "auto_rollback": False}, "test", url=db_url)
    wait_until(lambda: health(proxy)["flags"]["movies"]["mode"] == "service", timeout=5)


@pytest.fixture
def crashing_movies(db_url):
    """The real movies service that SIGKILLs its worker mid-request on ``?crash=...``."""
    proc = start_process("crashing-movies", "tests.proxy.crashing_service", port=free_port(),
                         health_path="/api/movies/health")
    yield proc
    proc.stop()


def _movie_ids(db_url: str, title: str) -> list[int]:
    with psycopg.connect(libpq_url(db_url)) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM movies WHERE title = %s", [title]).fetchall()]


@pytest.mark.parametrize("crash", ["before-commit", "after-commit"])
def test_a_write_whose_service_died_mid_request_is_done_exactly_once(proxy_factory, db_url, crashing_movies,
                                                                     editor_token, crash):
    # No client key, no client retry: the gateway keys the write, the service stores the key with
    # the write, and the monolith, sent the same key, finds the committed answer or writes once.
    proxy = proxy_factory(MOVIES_SERVICE_URL=crashing_movies.url)
    _service_mode(proxy, db_url)
    title = f"crash-{crash}-{uuid.uuid4().hex[:8]}"
    posted = httpx.post(f"{proxy.url}/api/movies?crash={crash}", headers={"Authorization": f"Bearer {editor_token}"},
                        json={"title": title, "description": "d", "rating": 4.0, "genres": []}, timeout=20)
    assert posted.status_code == 201, (posted.text, posted.headers.get("x-upstream"))
    assert posted.headers["x-upstream"] == "monolith"
    ids = _movie_ids(db_url, title)
    assert ids == [posted.json()["id"]], "exactly one row, and it is the one the client was told about"
    # committed by the service: the monolith answered from the stored answer, it did not write again
    assert (posted.headers.get("idempotent-replayed") == "true") == (crash == "after-commit")


def test_a_write_without_fallback_whose_service_died_is_a_502_and_undone(proxy_factory, db_url, crashing_movies,
                                                                          editor_token):
    proxy = proxy_factory(MOVIES_SERVICE_URL=crashing_movies.url)
    flags.set_flag("movies", {"mode": "service", "auto_rollback": False, "fallback": False}, "test", url=db_url)
    wait_until(lambda: health(proxy)["flags"]["movies"]["mode"] == "service", timeout=5)
    title = f"nofallback-{uuid.uuid4().hex[:8]}"
    posted = httpx.post(f"{proxy.url}/api/movies?crash=before-commit",
                        headers={"Authorization": f"Bearer {editor_token}"},
                        json={"title": title, "description": "d", "rating": 4.0, "genres": []}, timeout=20)
    assert posted.status_code == 502 and "error" in posted.json()
    assert _movie_rows(db_url, title) == 0, "the dead transaction was rolled back with its key"


def test_a_write_that_reached_a_keyless_backend_is_not_replayed(proxy_factory, db_url, movies_service,
                                                                 editor_token):
    # In front of backends that keep no keys (PROXY_EXACTLY_ONCE=false) a write that may have
    # reached the service is never sent to the monolith.
    proxy = proxy_factory(PROXY_EXACTLY_ONCE="false")
    _service_mode(proxy, db_url)
    auth = {"Authorization": f"Bearer {editor_token}"}
    title = f"reset-{uuid.uuid4().hex[:10]}"
    posted = httpx.post(f"{proxy.url}/api/movies?reset=1", headers=auth, timeout=10,
                        json={"title": title, "description": "d", "rating": 4.0, "genres": []})
    assert posted.status_code == 502 and "error" in posted.json()
    assert _movie_rows(db_url, title) == 0, "the monolith must not get a write the service may have done"
    assert httpx.get(f"{movies_service.url}/__control/state").json()["resets"] == 1
    read = httpx.get(f"{proxy.url}/api/movies?id=1&reset=1", timeout=10)
    assert read.status_code == 200 and read.headers["x-upstream"] == "monolith"


def test_a_write_whose_answer_timed_out_at_a_keyless_backend_is_not_replayed(proxy_factory, db_url, movies_service,
                                                                             editor_token):
    # A read timeout comes after the request was written: it may have reached the service, even
    # though the client library calls it a connect timeout; only a read goes to the monolith.
    proxy = proxy_factory(PROXY_READ_TIMEOUT_MS="300", PROXY_EXACTLY_ONCE="false")
    _service_mode(proxy, db_url)
    title = f"late-{uuid.uuid4().hex[:10]}"
    posted = httpx.post(f"{proxy.url}/api/movies?slow=2", headers={"Authorization": f"Bearer {editor_token}"},
                        json={"title": title, "description": "d", "rating": 4.0, "genres": []}, timeout=10)
    assert posted.status_code == 504 and posted.json() == {"error": "upstream timed out"}
    assert _movie_rows(db_url, title) == 0, "the monolith must not get a write the service may have done"
    assert httpx.get(f"{movies_service.url}/__control/state").json()["slow"] == 1
    read = httpx.get(f"{proxy.url}/api/movies?id=1&slow=2", timeout=10)
    assert read.status_code == 200 and read.headers["x-upstream"] == "monolith"


def test_the_gateway_sends_every_write_upstream_with_a_caller_scoped_key(proxy_factory, db_url, upstream_factory,
                                                                         editor_token):
    echo = upstream_factory("monolith-echo")
    proxy = proxy_factory(MONOLITH_URL=echo.url)
    auth = {"Authorization": f"Bearer {editor_token}"}
    with httpx.Client(base_url=proxy.url, timeout=10) as client:
        keys = [client.post("/api/movies", json={}, headers=auth).json()["headers"].get("idempotency-key")
                for _ in range(2)]
        assert all(keys) and keys[0] != keys[1], "a fresh key for each write without one"
        mine = client.post("/api/movies", json={}, headers={**auth, "Idempotency-Key": "k1"})
        sent = mine.json()["headers"]["idempotency-key"]
        assert sent != "k1" and len(sent) == 40, "the client's key, scoped to the caller"
        read = client.get("/api/movies", headers={"Idempotency-Key": "k2"}).json()["headers"]
        assert read.get("idempotency-key") == "k2", "reads are passed through untouched"


def test_a_5xx_write_of_a_keyless_backend_is_passed_through_and_a_5xx_read_is_served_by_the_monolith(
        proxy_factory, db_url, movies_service, editor_token):
    proxy = proxy_factory(PROXY_EXACTLY_ONCE="false")
    _service_mode(proxy, db_url)
    httpx.post(f"{movies_service.url}/__control/fail?status=503")
    try:
        title = f"five-{uuid.uuid4().hex[:10]}"
        posted = httpx.post(f"{proxy.url}/api/movies", headers={"Authorization": f"Bearer {editor_token}"},
                            json={"title": title, "description": "d", "rating": 4.0, "genres": []}, timeout=10)
        assert posted.status_code == 503 and posted.headers["x-upstream"] == "movies"
        assert _movie_rows(db_url, title) == 0
        read = httpx.get(f"{proxy.url}{ONE_MOVIE}", timeout=10)
        assert read.status_code == 200 and read.headers["x-upstream"] == "monolith"
    finally:
        httpx.post(f"{movies_service.url}/__control/fail?status=0")
