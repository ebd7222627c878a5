"""A throw-away single-node Kafka broker on free ports (tests and benchmarks), built by the stack's code."""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path


def _port_pair() -> int:
    """A port ``p`` with ``p`` and ``p + 1`` free (the broker's PLAINTEXT and controller ports)."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair")


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
        """Start (or restart on the same data) and make sure the domain topics exist."""
        self.broker.start()
        self.broker.ensure_topics()

    def pid(self) -> int | None:
        return self.broker.pid_file.live_pid()

    def destroy(self) -> None:
        self.broker.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
