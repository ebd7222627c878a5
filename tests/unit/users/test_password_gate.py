"""The password gate: a bounded number of checks run and wait; the rest are refused at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from domain_services.users.throttle import PasswordGate, address_key, username_key
from kernel.errors import TooManyRequests


def test_only_concurrency_plus_queue_are_admitted_and_the_rest_refused_at_once():
    gate = PasswordGate(concurrency=2, queue=3, wait_seconds=30)
    release = threading.Event()
    refusals = threading.Semaphore(0)

    def check(index: int) -> str:
        try:
            with gate.slot(f"10.0.0.{index}"):
                release.wait(30)
                return "checked"
        except TooManyRequests as exc:
            assert exc.retry_after == 1
            refusals.release()
            return "refused"

    with ThreadPoolExecutor(40) as pool:
        futures = [pool.submit(check, i) for i in range(40)]
        # 35 refusals arrive while all five admitted checks still hold their places
        assert all(refusals.acquire(timeout=10) for _ in range(35))
        release.set()
        outcomes = [f.result() for f in futures]
    assert outcomes.count("checked") == 5 and outcomes.count("refused") == 35


def test_a_waiting_check_gives_up_after_the_wait():
    gate = PasswordGate(concurrency=1, queue=1, wait_seconds=0.05)
    with gate.slot("10.0.0.1"), pytest.raises(TooManyRequests), gate.slot("10.0.0.2"):
        pass


def test_one_address_holds_one_place_and_gets_it_back():
    gate = PasswordGate(concurrency=2, queue=4)
    with gate.slot("10.0.0.1"):
        with pytest.raises(TooManyRequests), gate.slot("10.0.0.1"):
            pass
        with gate.slot("10.0.0.2"):  # another address still gets in
            pass
    with gate.slot("10.0.0.1"):  # released: the address may check again
        pass


@pytest.mark.parametrize(("raw", "key"), [("10.0.0.7", "10.0.0.7"), ("::ffff:10.0.0.7", "10.0.0.7"),
                                          ("2001:db8::1", "2001:db8::/64"), ("2001:db8::2:1", "2001:db8::/64"),
                                          ("nonsense", "-"), ("", "-"), (None, "-")])
def test_addresses_are_keyed_per_host_and_ipv6_per_64(raw, key):
    assert address_key(raw) == key


def test_username_variants_share_one_failure_count():
    assert username_key(" Alice ") == username_key("ALICE") == username_key("alice")
