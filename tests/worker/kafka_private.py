"""A throw-away single-node Kafka broker on free ports (tests and benchmarks), built by the stack's code."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path


def _port_pair() -> int:
    """A port ``p`` with ``p`` and ``p + 1`` free (the broker's PLAINTEXT and controller ports)."""
    from tests.support.processes import free_port_pair

    return free_port_pair()


class PrivateKafka:
    """A single-node KRaft broker in a temporary directory, built by the stack's own code."""

    def __init__(self) -> None:
        from cinemaabyss.stack.kafka_broker import Kafka
        from cinemaabyss.stack.paths import StackPaths

        self.dir = Path(tempfile.mkdtemp(prefix="cinemaabyss-kafka-"))
        paths = StackPaths(self.dir)
        paths.ensure()
        self.broker = Kafka(paths, _port_pair())

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    def start(self) -> None:
        """Start (or restart on the same data), make sure the topics exist and have leaders."""
        from cinemaabyss.stack.kafka_broker import TOPICS

        self.broker.start()
        self.broker.ensure_topics()
        self.wait_for_leaders(list(TOPICS))

    def wait_for_leaders(self, topics: list[str], timeout: float = 60.0) -> None:
        """Wait until every partition of ``topics`` answers an offset query (fresh topics need a moment)."""
        from tests.events.kafka_read import high_watermarks
        from tests.support.processes import wait_until

        wait_until(lambda: all(high_watermarks(self.bootstrap, t) for t in topics), timeout=timeout, interval=0.3,
                   message=f"partition leaders on {self.bootstrap}")

    def pid(self) -> int | None:
        return self.broker.pid_file.live_pid()

    def destroy(self) -> None:
        self.broker.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
