"""Pure front-door decisions: client address behind trusted proxies, and header/target limits."""

from __future__ import annotations

import pytest

from proxy.clientaddr import TrustedProxies, parse_networks
from proxy.intake import MAX_HEADERS, HeadLimits

TRUSTED = TrustedProxies(parse_networks("10.0.0.0/8, 192.0.2.1, ::1"))


@pytest.mark.parametrize(("peer", "forwarded", "client"), [
    ("203.0.113.5", "198.51.100.1", "203.0.113.5"),  # an untrusted peer's header means nothing
    ("10.1.1.1", None, "10.1.1.1"),
    ("10.1.1.1", "198.51.100.1", "198.51.100.1"),
    ("10.1.1.1", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the client wrote the left part
    ("10.1.1.1", "198.51.100.1, 10.2.2.2", "198.51.100.1"),  # two trusted hops
    ("10.1.1.1", "10.3.3.3, 10.2.2.2", "10.3.3.3"),  # all trusted: the farthest one
    ("10.1.1.1", "garbage", "10.1.1.1"),  # not an address: the hop that wrote it
    ("::1", "2001:db8::7", "2001:db8::7"),
])
def test_client_address(peer, forwarded, client):
    assert TRUSTED.client(peer, forwarded) == client


def test_no_trusted_proxy_setting_is_none_and_a_bad_one_fails_loudly():
    assert parse_networks("") == () and parse_networks(" , ") == ()
    with pytest.raises(ValueError, match="PROXY_TRUSTED_PROXIES"):
        parse_networks("10.0.0.0/8, example.com")


LIMITS = HeadLimits(max_url=100, max_header=50)


def test_head_limits():
    assert LIMITS.refusal("/api/movies", "id=1", [("accept", "*/*")]) is None
    assert LIMITS.refusal("/" + "a" * 90, "q=" + "b" * 20, []).status == 414
    assert LIMITS.refusal("/", "", [("x-big", "v" * 46)]).status == 431
    assert LIMITS.refusal("/", "", [("x-ok", "v" * 46)]) is None  # 50 bytes exactly
    assert LIMITS.refusal("/", "", [("x", "1")] * (MAX_HEADERS + 1)).status == 431
