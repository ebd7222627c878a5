"""Shadow compare, live: the gateway mirrors every movies GET from the real monolith to a rewrite
with another JSON encoder (``tests/proxy/shadow_variant.py``) and reports by meaning."""

from __future__ import annotations

import json

import httpx
import psycopg
import pytest
import redis
from click.testing import CliRunner

from cinemaabyss.cli import main as cli
from strangler import flags, shadow_store
from strangler.shadow_diff import ARRAY_ORDER_ONLY, ORDER_INSENSITIVE, VALUE_CHANGED
from tests.control_plane.conftest import as_role, console_app, operators  # noqa: F401 - fixtures
from tests.proxy.conftest import health, libpq_url
from tests.support.processes import free_port, start_process, wait_until

SPECIAL = ("Tom & Jerry <Live> — Amélie", 7.0, ["Comedy", "Animation"])


@pytest.fixture
def variant(monolith):
    """The rewrite stand-in in front of the real monolith."""
    port = free_port()
    proc = start_process("shadow-variant", "tests.proxy.shadow_variant", port=port, health_path="/health",
                         args=("--port", str(port), "--upstream", monolith.url))
    yield proc
    proc.stop()


@pytest.fixture
def special_movie(db_url):
    """A movie with ``&``, ``<``, Unicode, an integral rating and two genres."""
    title, rating, genres = SPECIAL
    with psycopg.connect(libpq_url(db_url)) as conn:
        movie_id = conn.execute("INSERT INTO movies (title, description, rating) VALUES (%s, %s, %s) RETURNING id",
                                [title, "naïve <b>&</b>", rating]).fetchone()[0]
        for genre in genres:
            conn.execute("INSERT INTO movie_genres (movie_id, genre) VALUES (%s, %s)", [movie_id, genre])
    yield movie_id
    with psycopg.connect(libpq_url(db_url)) as conn:
        conn.execute("DELETE FROM movies WHERE id = %s", [movie_id])


@pytest.fixture
def shadowed(proxy_factory, variant, db_url, redis_url):
    """A gateway answering movies from the monolith and mirroring every GET to the variant; clean shadow state."""
    _reset(db_url, redis_url)
    proxy = proxy_factory(MOVIES_SERVICE_URL=variant.url)
    flags.set_flag("movies", {"mode": "monolith", "shadow_percent": 100}, "test", url=db_url)
    wait_until(lambda: health(proxy)["flags"]["movies"]["shadow_percent"] == 100, timeout=5)
    yield proxy
    _reset(db_url, redis_url)


def _reset(db_url: str, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter("shadow:*movies*"))
    if keys:
        client.delete(*keys)
    client.close()
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute("DELETE FROM shadow_samples WHERE domain = 'movies'")
        conn.execute("DELETE FROM shadow_rules WHERE domain = 'movies'")
        conn.execute("SELECT pg_notify('shadow_rules', 'movies')")


def _counters(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter("shadow:movies:*"):
        client.delete(key)
    client.close()


def _control(variant, **params) -> None:
    httpx.post(f"{variant.url}/__control", params=params, timeout=5).raise_for_status()


def _drive(proxy, targets: list[str]) -> None:
    with httpx.Client(base_url=proxy.url, timeout=10) as client:
        for target in targets:
            response = client.get(target)
            assert response.status_code == 200 and response.headers["x-upstream"] == "monolith", response.text


def _report(db_url: str, redis_url: str, compared: int) -> dict:
    """The report once every mirrored GET was compared (the gateway flushes its counters every second)."""
    client = redis.Redis.from_url(redis_url)
    try:
        def ready():
            data = shadow_store.report("movies", 5, 10, client, url=db_url)
            return data if data["compared"] + data["errors"] >= compared else None
        return wait_until(ready, timeout=15, interval=0.2, message=f"{compared} comparisons counted")
    finally:
        client.close()


def _ids(db_url: str) -> list[int]:
    with psycopg.connect(libpq_url(db_url)) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM movies ORDER BY id")]


def test_encoder_differences_are_no_mismatch_and_genre_order_is_exactly_one_rule_away(
        shadowed, variant, monolith, special_movie, db_url, redis_url, as_role):  # noqa: F811 - fixture
    # the paged list: an unpaged one is streamed, and streamed answers are not mirrored
    targets = [f"/api/movies?id={i}" for i in _ids(db_url)] * 2 + ["/api/movies?limit=100"] * 4
    mine = httpx.get(f"{monolith.url}/api/movies?id={special_movie}").content
    theirs = httpx.get(f"{variant.url}/api/movies?id={special_movie}").content
    assert mine != theirs and b"\\u0026" in theirs and b'"rating":7,' in theirs  # a real encoder difference

    _drive(shadowed, targets)
    report = _report(db_url, redis_url, len(targets))
    assert (report["compared"], report["mismatches"], report["errors"]) == (len(targets), 0, 0), report

    _control(variant, reverse_genres=1)
    _counters(redis_url)
    _drive(shadowed, targets)
    expected = sum(1 for t in targets if _has_two_genres(httpx.get(monolith.url + t).json()))
    report = _report(db_url, redis_url, len(targets))
    assert report["mismatches"] == expected > 0, report
    assert report["kinds"] == {ARRAY_ORDER_ONLY: expected}
    assert {p["path"] for p in report["paths"]} == {"$.genres", "$[*].genres"}

    ops = as_role("ops")
    for path in ("$[*].genres", "$.genres"):
        saved = ops.post("/shadow/movies/rules", data={"path": path, "mode": ORDER_INSENSITIVE,
                                                        "note": "the legacy side keeps insertion order"})
        assert saved.status_code == 302
    assert {(r.path, r.mode) for r in shadow_store.list_rules("movies", url=db_url)} == {
        ("$[*].genres", ORDER_INSENSITIVE), ("$.genres", ORDER_INSENSITIVE)}
    with psycopg.connect(libpq_url(db_url)) as conn:
        audited = conn.execute("SELECT actor, after->>'path' FROM flag_audit WHERE action = 'shadow.rule_added' "
                               "AND domain = 'movies' ORDER BY id DESC LIMIT 2").fetchall()
    assert {path for _, path in audited} == {"$[*].genres", "$.genres"} and audited[0][0] == "test-ops"
    refused = as_role("viewer").post("/shadow/movies/rules", data={"path": "$.x", "mode": "ignore", "note": "n"})
    assert refused.status_code == 403
    bad = ops.post("/shadow/movies/rules", data={"path": "genres", "mode": "ignore", "note": "n"},
                   follow_redirects=True)
    assert "a path starts with $" in bad.get_data(as_text=True)

    _counters(redis_url)
    _drive(shadowed, targets)  # the rules reached the gateway by NOTIFY before these requests
    report = _report(db_url, redis_url, len(targets))
    assert (report["compared"], report["mismatches"]) == (len(targets), 0), report


def _has_two_genres(answer) -> bool:
    movies = answer if isinstance(answer, list) else [answer]
    return any(len(m.get("genres") or []) > 1 for m in movies)


def test_a_field_changed_in_5_percent_of_answers_is_reported_with_its_rate_and_a_sample(
        shadowed, variant, special_movie, db_url, redis_url, as_role):  # noqa: F811 - fixture
    _control(variant, change_every=20, field="title")
    ids = _ids(db_url)
    targets = [f"/api/movies?id={ids[n % len(ids)]}" for n in range(200)]
    _drive(shadowed, targets)
    report = _report(db_url, redis_url, 200)
    assert httpx.get(f"{variant.url}/__control").json()["changed"] == 10
    assert (report["compared"], report["mismatches"]) == (200, 10), report
    assert report["mismatch_rate"] == pytest.approx(0.05)
    assert [(p["path"], p["kind"], p["count"]) for p in report["paths"]] == [("$.title", VALUE_CHANGED, 10)]
    sample_id = report["paths"][0]["sample"]
    assert sample_id is not None

    result = CliRunner().invoke(cli, ["shadow", "report", "movies", "--minutes", "5"])
    print(result.output)
    assert result.exit_code == 0, result.output
    assert "10 mismatched (5.0%)" in result.output and "$.title" in result.output
    as_json = json.loads(CliRunner().invoke(cli, ["shadow", "report", "movies", "--minutes", "5", "--json"]).output)
    assert as_json["paths"][0]["path"] == "$.title"

    ops = as_role("ops")
    page = ops.get("/shadow/movies?minutes=15").get_data(as_text=True)
    assert "5.0 % mismatched" in page and "<code>$.title</code>" in page
    sample = ops.get(f"/shadow/movies/samples/{sample_id}")
    assert sample.status_code == 200
    text = sample.get_data(as_text=True)
    assert "(rewritten)" in text and "value_changed" in text and 'class="changed"' in text
    assert as_role("viewer").get(f"/shadow/movies/samples/{sample_id}").status_code == 403
    assert ops.get("/shadow/movies/samples/999999999").status_code == 404
    assert ops.get("/shadow/nowhere").status_code == 404


def test_a_a_calibration_learns_the_legacy_sides_own_noise_and_stops_counting_it(
        proxy_factory, monolith, variant, db_url, redis_url):
    # The legacy side (here the variant, as the monolith) stamps every answer differently; asking
    # it twice shows that, so the stamp stops counting against the service.
    _reset(db_url, redis_url)
    _control(variant, noise=1)
    proxy = proxy_factory(MONOLITH_URL=variant.url, MOVIES_SERVICE_URL=monolith.url, SHADOW_CALIBRATION_PERCENT="100")
    flags.set_flag("movies", {"mode": "monolith", "shadow_percent": 100}, "test", url=db_url)
    wait_until(lambda: health(proxy)["flags"]["movies"]["shadow_percent"] == 100, timeout=5)
    targets = [f"/api/movies?id={i}" for i in _ids(db_url)]
    try:
        _drive(proxy, targets)
        first = _report(db_url, redis_url, len(targets))
        assert first["noise"]["pairs"] >= len(targets)
        assert first["noise"]["suggested"] == [{"path": "$.served_at", "mode": "ignore"}]
        _counters(redis_url)
        _drive(proxy, targets)
        report = _report(db_url, redis_url, len(targets))
        assert (report["compared"], report["mismatches"]) == (len(targets), 0), report
    finally:
        _reset(db_url, redis_url)


@pytest.mark.parametrize("path, status", [
    ("/shadow/movies?minutes=abc", 200), ("/shadow/movies?minutes=99999999999999999999", 200),
    ("/shadow/movies?minutes=-1", 200), ("/shadow/bad%00domain", 404), ("/shadow/movies/samples/0", 404),
    ("/shadow/movies/samples/99999999999999999999", 400), ("/shadow", 302),
])
def test_console_shadow_pages_answer_hostile_input_below_500(as_role, path, status):  # noqa: F811 - fixture
    assert as_role("admin").get(path).status_code == status


def test_console_refuses_a_rule_that_does_not_parse_and_a_rule_without_a_note(as_role, db_url):  # noqa: F811
    ops = as_role("ops")
    for data in ({"path": "$[", "mode": "ignore", "note": "n"}, {"path": "$.a", "mode": "always", "note": "n"},
                 {"path": "$.a", "mode": "ignore", "note": " "}):
        page = ops.post("/shadow/movies/rules", data=data, follow_redirects=True)
        assert page.status_code == 200 and 'class="flash flash-error"' in page.get_data(as_text=True)
    assert shadow_store.list_rules("movies", url=db_url) == []
    assert ops.post("/shadow/movies/rules/999999/delete").status_code == 404
