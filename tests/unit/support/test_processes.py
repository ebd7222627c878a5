"""The test harness itself: ports that cannot be taken in between, waits that stop when hopeless."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support import processes
from tests.support.processes import GiveUp, free_port, free_port_pair, start_process, wait_until


def _ephemeral_range() -> tuple[int, int]:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low), int(high)


def test_free_ports_are_outside_the_ephemeral_range_and_never_repeat():
    low, high = _ephemeral_range()
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert not any(low <= port <= high for port in ports)


def test_a_port_pair_is_two_fresh_neighbours():
    port = free_port_pair()
    assert port + 1 in processes._handed_out
    assert free_port() not in (port, port + 1)


def test_wait_until_returns_the_first_truthy_value_and_retries_errors():
    calls = []

    def ready():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("not yet")
        return "up"

    assert wait_until(ready, timeout=5, interval=0.001) == "up"


def test_wait_until_gives_up_at_once_when_told():
    started = time.monotonic()
    with pytest.raises(GiveUp, match="exited"):
        wait_until(lambda: (_ for _ in ()).throw(GiveUp("server exited with 1")), timeout=30)
    assert time.monotonic() - started < 1


def test_a_process_that_dies_fails_its_start_at_once_with_its_log():
    started = time.monotonic()
    with pytest.raises(GiveUp, match=r"exited with 1; log: .*no-such-module"):
        start_process("no-such-module", "domain_services.no_such_module", port=free_port(), timeout=60)
    assert time.monotonic() - started < 30  # python's start-up under load, not the 60 s timeout
