"""A single-node KRaft Kafka broker assembled from Maven Central jars (docs/architecture.md §8).

Jars are collected once by ``mvn dependency:copy-dependencies`` from ``kafka/pom.xml`` into a
cache outside RUN_DIR (``make clean`` must not force a re-download). The broker runs in
combined broker+controller mode with data in ``RUN_DIR/kafka``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from cinemaabyss.stack.errors import StackError
from cinemaabyss.stack.paths import StackPaths
from cinemaabyss.stack.procs import (
    PidFile,
    ensure_port_free,
    port_open,
    start_detached,
    stop_group,
    wait_ready,
)
from cinemaabyss.stack.sysenv import cache_dir
from eventing import topics as topic_plan
from eventing.dead_letters import DEAD_LETTER_TOPICS
from kernel import registry

NAME = "kafka"
TOPICS = registry.TOPICS + DEAD_LETTER_TOPICS  # each domain topic and its dead-letter topic
PARTITIONS = 3
START_TIMEOUT_S = 90
HERE = Path(__file__).resolve().parent / "kafka"
POM = HERE / "pom.xml"
BROKER_LOG4J = HERE / "log4j2-broker.properties"
TOOLS_LOG4J = HERE / "log4j2-tools.properties"


def libs_dir() -> Path:
    """Cache directory of the broker's jars (keyed by the POM so a version bump re-fetches)."""
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:12]
    return cache_dir() / "kafka-libs" / digest


def ensure_libs(log: Path) -> Path:
    """Download the jars with Maven unless already cached; returns the directory."""
    libs = libs_dir()
    marker = libs / ".complete"
    if marker.exists():
        return libs
    if shutil.which("mvn") is None:
        raise StackError("maven (mvn) is not installed; run scripts/bootstrap.sh")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        result = subprocess.run(
            [
                "mvn",
                "-q",
                "-B",
                "-f",
                str(POM),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={libs}",
                "-DincludeScope=runtime",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0 or not any(libs.glob("kafka_2.13-*.jar")):
        raise StackError(f"cannot fetch the Kafka jars from Maven Central; log: {log}")
    marker.touch()
    return libs


def random_cluster_id() -> str:
    """A Kafka ``Uuid`` string (URL-safe base64 of 16 random bytes), as ``StorageTool random-uuid`` prints.

    Generated here to save one JVM start; Kafka rejects ids starting with ``-``.
    """
    while True:
        value = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        if not value.startswith("-"):
            return value


@dataclass
class Kafka:
    """This checkout's broker: PLAINTEXT on ``port``, controller on ``port + 1``."""

    paths: StackPaths
    port: int

    @property
    def controller_port(self) -> int:
        return self.port + 1

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> PidFile:
        return PidFile(self.paths.pid(NAME))

    @property
    def log(self) -> Path:
        """The broker's log4j file (its stdout, e.g. JVM errors, goes to ``kafka-stdout.log``)."""
        return self.paths.log(NAME)

    @property
    def home(self) -> Path:
        return self.paths.run / "kafka"

    def server_properties(self) -> str:
        """Combined-mode config (docs/architecture.md §8), with our ports and data dir."""
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.bootstrap.servers=127.0.0.1:{self.controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                "inter.broker.listener.name=PLAINTEXT",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={self.home / 'data'}",
                f"num.partitions={PARTITIONS}",
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "",
            ]
        )

    def _java(self) -> str:
        java = shutil.which("java")
        if java is None:
            raise StackError("java is not installed (a JRE 17+ is needed); run scripts/bootstrap.sh")
        return java

    def _format(self, libs: Path, config: Path) -> None:
        """Format the storage once (``-g`` would also make a repeat harmless)."""
        if (self.home / "data" / "meta.properties").exists():
            return
        result = subprocess.run(
            [
                self._java(),
                "-Xmx256m",
                f"-Dlog4j2.configurationFile={TOOLS_LOG4J}",
                "-cp",
                f"{libs}/*",
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-g",
                "-t",
                random_cluster_id(),
                "-c",
                str(config),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            detail = (result.stderr.strip() or result.stdout.strip()).splitlines()
            raise StackError(f"kafka storage format failed: {detail[-1] if detail else 'no output'}")

    def admin(self) -> AdminClient:
        """An admin client for this broker (librdkafka's own logging kept quiet)."""
        return AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 2, "socket.timeout.ms": 5000})

    def ready(self) -> bool:
        """The PLAINTEXT port accepts and an admin client can list topics."""
        if not port_open(self.port):
            return False
        try:
            self.admin().list_topics(timeout=3)
        except KafkaException:
            return False
        return True

    def start(self) -> None:
        """Fetch jars, format, start the broker (unless ours runs) and wait until it is ready."""
        if self.pid_file.live_pid() is None:
            ensure_port_free(NAME, self.port)
            ensure_port_free(f"{NAME} controller", self.controller_port)
            libs = ensure_libs(self.paths.log("kafka-maven"))
            self.home.mkdir(parents=True, exist_ok=True)
            config = self.home / "server.properties"
            config.write_text(self.server_properties())
            self._format(libs, config)
            start_detached(
                [
                    self._java(),
                    "-Xms256m",
                    "-Xmx512m",
                    "-XX:+UseG1GC",
                    "-XX:MaxGCPauseMillis=20",
                    "-Djava.awt.headless=true",
                    f"-Dkafka.logs.dir={self.paths.logs}",
                    f"-Dlog4j2.configurationFile={BROKER_LOG4J}",
                    "-cp",
                    f"{libs}/*",
                    "kafka.Kafka",
                    str(config),
                ],
                log=self.paths.log("kafka-stdout"),
                pid_file=self.pid_file,
            )
        wait_ready(NAME, self.ready, START_TIMEOUT_S, self.log, lambda: self.pid_file.live_pid() is not None)

    def ensure_topics(self, topics: tuple[str, ...] = TOPICS) -> list[str]:
        """Create the domain topics that are missing (3 partitions, RF 1); returns the created ones."""
        try:
            return list(topic_plan.ensure(self.admin(), topics, PARTITIONS, replication_factor=1).create)
        except KafkaException as exc:
            raise StackError(f"cannot create the Kafka topics: {exc}") from None

    def stop(self) -> bool:
        """Controlled shutdown via SIGTERM (a single-node KRaft broker needs a few seconds)."""
        return stop_group(self.pid_file, deadline_s=45)
