"""Fast tests of the stack's building blocks (no services needed)."""

from __future__ import annotations

import socket
import stat
import subprocess
import sys

import pytest

from cinemaabyss.stack.envfile import read_env_file, write_env_file
from cinemaabyss.stack.errors import StackError
from cinemaabyss.stack.kafka_broker import Kafka, random_cluster_id
from cinemaabyss.stack.paths import StackPaths
from cinemaabyss.stack.postgres import port_from_url
from cinemaabyss.stack.processes import PROCESSES
from cinemaabyss.stack.procs import PidFile, ensure_port_free, wait_ready
from cinemaabyss.stack.redis_server import Redis
from kernel.settings import load_settings


def test_port_from_url() -> None:
    assert port_from_url("postgresql+psycopg://u:p@127.0.0.1:5433/db", 5432) == 5433
    assert port_from_url("postgresql+psycopg://cinemaabyss@127.0.0.1/db", 5432) == 5432
    assert port_from_url("redis://127.0.0.1:6380/0", 6379) == 6380
    assert port_from_url("kafka://localhost:19092", 9092) == 19092


def test_cluster_id_looks_like_a_kafka_uuid() -> None:
    ids = {random_cluster_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == 22 and not i.startswith("-") and "=" not in i for i in ids)


def test_server_properties_follow_the_broker_port(tmp_path) -> None:
    props = Kafka(StackPaths(tmp_path), 19092).server_properties()
    assert "listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093" in props
    assert "auto.create.topics.enable=false" in props and "num.partitions=3" in props


def test_env_file_is_private_and_round_trips(tmp_path) -> None:
    path = tmp_path / "stack.env"
    write_env_file(path, {"DATABASE_URL": "postgresql+psycopg://a:b@127.0.0.1:5432/x"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_env_file(path) == {"DATABASE_URL": "postgresql+psycopg://a:b@127.0.0.1:5432/x"}


def test_settings_layer_stack_env_below_dot_env_below_the_environment(tmp_path, monkeypatch) -> None:
    from kernel import settings as settings_module
    root = tmp_path / "checkout"
    write_env_file(
        root / ".run" / "stack.env", {"REDIS_URL": "redis://x:1/0", "LOG_LEVEL": "DEBUG", "KAFKA_BROKERS": "k:1"}
    )
    (root / ".env").write_text("LOG_LEVEL=ERROR\nKAFKA_BROKERS=k:2\n")
    monkeypatch.setattr(settings_module, "PROJECT_ROOT", root)  # a checkout of our own, with its .env
    for name in ("RUN_DIR", "REDIS_URL", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAFKA_BROKERS", "k:3")
    settings = load_settings()
    assert settings.redis_url == "redis://x:1/0"  # only in stack.env
    assert settings.log_level == "ERROR"  # .env beats stack.env
    assert settings.kafka_brokers == "k:3"  # the environment beats both


def test_pid_file_ignores_a_dead_or_reused_pid(tmp_path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    pid_file = PidFile(tmp_path / "x.pid")
    pid_file.write(proc.pid)
    assert pid_file.live_pid() is None
    assert not pid_file.path.exists()
    # a live pid whose start time differs is someone else's process
    pid_file.path.write_text("1 12345\n")
    assert pid_file.live_pid() is None


def test_readiness_timeout_is_one_line(tmp_path) -> None:
    log = tmp_path / "svc.log"
    with pytest.raises(StackError) as excinfo:
        wait_ready("svc", lambda: False, 0.3, log, alive=lambda: True)
    assert str(excinfo.value) == f"svc did not become ready within 0.3s; log: {log}"


def test_foreign_process_on_the_port_is_refused(tmp_path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(StackError, match=f"port {port} is already in use"):
            ensure_port_free("redis", port)
        with pytest.raises(StackError, match=f"port {port}"):
            Redis(StackPaths(tmp_path), port).start()


def test_process_list_holds_every_deployment_and_every_registered_domain() -> None:
    from kernel.registry import DOMAINS

    names = [p.name for p in PROCESSES]
    assert names[0] == "monolith"  # the gateway's default upstream starts first
    assert set(names) >= {"monolith", *(d.name for d in DOMAINS), "proxy", "console", "worker", "beat"}
    # the gateway starts after every upstream it forwards to
    assert names.index("proxy") > max(names.index(d.name) for d in DOMAINS)
