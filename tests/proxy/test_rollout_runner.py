"""The rollout runner on real PostgreSQL and Redis, with gateway counters written by the test.

The users domain is used so the proxy tests' movies traffic never mixes into the readings.
"""

from __future__ import annotations

import threading

import httpx
import psycopg
import pytest
import redis
from click.testing import CliRunner

from cinemaabyss.commands.rollout import rollout_group
from strangler import flags, rollouts
from strangler.rollout_gates import latency_field
from tests.proxy.conftest import libpq_url
from tests.support.processes import wait_until

DOMAIN = "users"


@pytest.fixture
def runner(db_url, redis_url):
    """A Redis client for ticks; no users plan before or after, the flag back at the monolith."""
    def clear():
        with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
            conn.execute("DELETE FROM rollout_plans WHERE domain = %s", [DOMAIN])
    clear()
    client = redis.Redis.from_url(redis_url)
    yield client
    clear()
    flags.rollback(DOMAIN, "test", url=db_url)
    client.close()


def _green(client: redis.Redis, since: float, seconds: int = 8, requests: int = 30) -> None:
    """Gateways' counters: healthy service traffic for the seconds after ``since``."""
    for second in range(int(since) + 1, int(since) + 1 + seconds):
        client.hset(f"traffic:{second}", f"{DOMAIN}:service:ok", requests)
        client.expire(f"traffic:{second}", 600)


def _traffic(client: redis.Redis, since: float, *, service_s: float, monolith_s: float, seconds: int = 8,
             requests: int = 30) -> None:
    """Gateways' counters: ``requests`` per second on each backend, each taking the given latency."""
    for second in range(int(since) + 1, int(since) + 1 + seconds):
        key = f"traffic:{second}"
        stale = [f for f in client.hkeys(key) if f.startswith(f"{DOMAIN}:".encode())]  # an earlier test's seconds
        if stale:
            client.hdel(key, *stale)
        client.hset(key, mapping={f"{DOMAIN}:service:ok": requests, f"{DOMAIN}:monolith:ok": requests,
                                  latency_field(DOMAIN, "service", service_s): requests,
                                  latency_field(DOMAIN, "monolith", monolith_s): requests})
        client.expire(key, 600)


def _rollout_actions(db_url: str, since_id: int) -> list[str]:
    with psycopg.connect(libpq_url(db_url)) as conn:
        rows = conn.execute("SELECT action FROM flag_audit WHERE id > %s AND domain = %s AND action LIKE 'rollout.%%' "
                            "ORDER BY id", [since_id, DOMAIN]).fetchall()
    return [r[0] for r in rows]


def _last_audit_id(db_url: str) -> int:
    with psycopg.connect(libpq_url(db_url)) as conn:
        return conn.execute("SELECT coalesce(max(id), 0) FROM flag_audit").fetchone()[0]


def test_waits_for_data_then_advances_and_completes_on_green(runner, db_url):
    since = _last_audit_id(db_url)
    plan = rollouts.start(DOMAIN, "test", steps="10,100", hold_seconds=1, gates={"min_requests": 20}, url=db_url)
    assert rollouts.tick(runner, url=db_url) == {}, "inside the hold time nothing happens"
    wait_until(lambda: rollouts.tick(runner, url=db_url).get(DOMAIN) == "waiting", timeout=5, interval=0.1,
               message="a wait for data")
    rollouts.tick(runner, url=db_url)
    assert _rollout_actions(db_url, since) == ["rollout.started", "rollout.waiting"], "one audit row per wait"

    _green(runner, plan["step_started_at"])
    wait_until(lambda: rollouts.tick(runner, url=db_url).get(DOMAIN) == "advanced", timeout=10, interval=0.1)
    assert flags.get_flag(DOMAIN, url=db_url)["percent"] == 100
    _green(runner, rollouts.get_plan(DOMAIN, url=db_url)["step_started_at"])
    wait_until(lambda: rollouts.tick(runner, url=db_url).get(DOMAIN) == "completed", timeout=10, interval=0.1)
    flag = flags.get_flag(DOMAIN, url=db_url)
    assert (flag["mode"], flag["percent"], flag["updated_by"]) == ("service", 100, "rollout:test")
    assert rollouts.get_plan(DOMAIN, url=db_url)["state"] == "completed"


def test_a_flag_rolled_back_elsewhere_stops_the_plan(runner, db_url):
    rollouts.start(DOMAIN, "test", steps="10,100", hold_seconds=60, url=db_url)
    flags.rollback(DOMAIN, "test:operator", "manual", url=db_url)
    assert rollouts.tick(runner, url=db_url) == {DOMAIN: "stopped"}
    assert rollouts.get_plan(DOMAIN, url=db_url)["state"] == "rolled_back"


def test_one_runner_at_a_time(runner, db_url):
    rollouts.start(DOMAIN, "test", steps="10,100", hold_seconds=60, url=db_url)
    flags.rollback(DOMAIN, "test:operator", "manual", url=db_url)  # a decision is due
    with psycopg.connect(libpq_url(db_url)) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [rollouts.RUNNER_LOCK_ID])
        assert rollouts.tick(runner, url=db_url) == {}
    assert rollouts.tick(runner, url=db_url) == {DOMAIN: "stopped"}


def test_a_second_plan_is_refused_while_one_runs(runner, db_url):
    from kernel.errors import Conflict

    rollouts.start(DOMAIN, "test", steps="10,100", hold_seconds=60, url=db_url)
    with pytest.raises(Conflict):
        rollouts.start(DOMAIN, "test", steps="10,100", hold_seconds=60, url=db_url)


def test_a_slower_service_is_rolled_back_on_latency_with_the_verdict_recorded(runner, db_url):
    plan = rollouts.start(DOMAIN, "test", steps="10,100", hold_seconds=60, gates={"min_requests": 20},
                          reason="judge drill", url=db_url)
    _traffic(runner, plan["step_started_at"], service_s=0.050, monolith_s=0.010)
    wait_until(lambda: rollouts.tick(runner, url=db_url).get(DOMAIN) == "rolled_back", timeout=10, interval=0.1,
               message="a rollback on latency")
    assert flags.get_flag(DOMAIN, url=db_url)["mode"] == "monolith"
    steps = rollouts.timeline(DOMAIN, url=db_url)
    assert [s["action"] for s in steps] == ["started", "rolled_back"]
    assert "judge drill" in steps[0]["reason"]
    verdicts = {v["gate"]: v for v in steps[1]["judgement"]["verdicts"]}
    latency = verdicts["latency"]
    assert latency["outcome"] == "fail" and latency["p_value"] < 0.001 and latency["effect"] == 1.0
    assert latency["n_service"] >= 20 and latency["n_baseline"] >= 20
    assert verdicts["error_rate"]["outcome"] in ("pass", "inconclusive")


def test_a_dry_run_gate_records_its_verdict_and_the_plan_goes_on(runner, db_url):
    since = _last_audit_id(db_url)
    plan = rollouts.start(DOMAIN, "test", steps="10,100", hold_seconds=1,
                          gates={"min_requests": 20, "dry_run": "latency"}, url=db_url)
    _traffic(runner, plan["step_started_at"], service_s=0.050, monolith_s=0.010)
    wait_until(lambda: rollouts.tick(runner, url=db_url).get(DOMAIN) == "advanced", timeout=10, interval=0.1,
               message="the plan advances despite the dry-run latency gate")
    actions = _rollout_actions(db_url, since)
    assert actions[0] == "rollout.started" and actions[-1] == "rollout.advanced"
    advanced = rollouts.timeline(DOMAIN, url=db_url)[-1]
    assert advanced["judgement"]["would"] == "rollback"
    latency = next(v for v in advanced["judgement"]["verdicts"] if v["gate"] == "latency")
    assert latency["outcome"] == "fail" and latency["dry_run"] is True
    assert flags.get_flag(DOMAIN, url=db_url)["percent"] == 100


def test_each_tick_keeps_the_latest_verdicts_on_the_plan(runner, db_url):
    plan = rollouts.start(DOMAIN, "test", steps="10,100", hold_seconds=60, gates={"min_requests": 20}, url=db_url)
    _traffic(runner, plan["step_started_at"], service_s=0.010, monolith_s=0.010)

    def judged() -> bool:
        rollouts.tick(runner, url=db_url)
        judgement = rollouts.get_plan(DOMAIN, url=db_url)["judgement"]
        return bool(judgement) and judgement["verdicts"][0]["n_service"] > 0

    wait_until(judged, timeout=10, interval=0.1, message="verdicts stored on the plan")
    judgement = rollouts.get_plan(DOMAIN, url=db_url)["judgement"]
    assert judgement["action"] == "hold"
    assert {v["gate"]: v["outcome"] for v in judgement["verdicts"]}["latency"] == "pass"


def test_live_a_slower_service_holds_the_plan_and_rolls_it_back_on_latency_with_no_failed_read(
        proxy_factory, movies_service, db_url, redis_url):
    """Through a real gateway: the movies service answers 60 ms late; the judge sees it against the monolith."""
    proxy = proxy_factory()
    flags.set_flag("movies", {"auto_rollback": False}, "test", url=db_url)  # the judge must act, not the gateway
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute("DELETE FROM rollout_plans WHERE domain = 'movies'")
    httpx.post(f"{movies_service.url}/__control/delay?seconds=0.06")
    client = redis.Redis.from_url(redis_url)
    rollouts.start("movies", "test", steps="25,50,100", hold_seconds=1, gates={"min_requests": 30}, url=db_url)
    stop, seen = threading.Event(), {}

    def load() -> None:
        with httpx.Client(base_url=proxy.url, timeout=10) as http:
            n = 0
            while not stop.is_set():
                n += 1
                status = http.get("/api/movies?id=1", headers={"X-User-Id": f"judge-{n % 200}"}).status_code
                seen[status] = seen.get(status, 0) + 1

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: rollouts.tick(client, url=db_url).get("movies") == "rolled_back"
                   or rollouts.get_plan("movies", url=db_url)["state"] == "rolled_back",
                   timeout=60, interval=0.25, message="the plan rolled back on latency")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        httpx.post(f"{movies_service.url}/__control/delay?seconds=0")
        client.close()
    plan = rollouts.get_plan("movies", url=db_url)
    assert plan["percent"] == 25, "it never left the first step"
    assert flags.get_flag("movies", url=db_url)["mode"] == "monolith"
    latency = next(v for v in plan["judgement"]["verdicts"] if v["gate"] == "latency")
    assert latency["outcome"] == "fail" and latency["p_value"] < 0.05 and latency["effect"] > 0.9, latency
    assert "latency" in rollouts.timeline("movies", url=db_url)[-1]["reason"]
    assert set(seen) == {200}, seen


def test_the_cli_starts_a_judged_plan_and_prints_its_verdicts_and_timeline(runner, db_url):
    cli = CliRunner()
    started = cli.invoke(rollout_group, ["start", DOMAIN, "--steps", "10,100", "--hold", "1", "--min-requests", "20",
                                         "--dry-run", "latency", "--reason", "terminal canary"])
    assert started.exit_code == 0, started.output
    plan = rollouts.get_plan(DOMAIN, url=db_url)
    assert plan["gates"]["dry_run"] == ["latency"]
    _traffic(runner, plan["step_started_at"], service_s=0.050, monolith_s=0.010)
    wait_until(lambda: rollouts.tick(runner, url=db_url).get(DOMAIN) == "advanced", timeout=10, interval=0.1)
    status = cli.invoke(rollout_group, ["status", DOMAIN])
    assert status.exit_code == 0, status.output
    assert "terminal canary" in status.output and "advanced" in status.output
    assert any(line.split()[:2] == ["latency", "fail"] and "(dry-run)" in line for line in status.output.splitlines())
    bad = cli.invoke(rollout_group, ["start", "movies", "--dry-run", "speed"])
    assert bad.exit_code != 0 and "unknown gate" in bad.output
