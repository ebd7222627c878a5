"""Unit tests of the gateway-identity headers and the revocation decision (no database)."""

from __future__ import annotations

import pytest

from kernel.errors import InvalidInput
from kernel.identity import ANONYMOUS_IDENTITY, Identity, identity_from_headers
from kernel.revocations import is_revoked, parse_notification, revoke_params


@pytest.mark.parametrize(("headers", "expected"), [
    ({}, ANONYMOUS_IDENTITY),
    ({"X-User-Role": "admin"}, ANONYMOUS_IDENTITY),  # a role without a user is nobody
    ({"X-User-Id": "7"}, Identity(7, "user")),  # previous gateways sent only the id
    ({"X-User-Id": "7", "X-User-Role": "admin"}, Identity(7, "admin")),
    ({"X-User-Id": " 9 ", "X-User-Role": "service"}, Identity(9, "service")),
])
def test_identity_from_gateway_headers(headers, expected):
    assert identity_from_headers(headers) == expected


@pytest.mark.parametrize("headers", [
    {"X-User-Id": "abc"}, {"X-User-Id": "0"}, {"X-User-Id": "-1"}, {"X-User-Id": "2147483648"},
    {"X-User-Id": "\u0661"}, {"X-User-Id": "1", "X-User-Role": "root"}, {"X-User-Id": "1", "X-User-Role": "anonymous"},
])
def test_headers_no_gateway_sends_are_a_bad_request(headers):
    with pytest.raises(InvalidInput):
        identity_from_headers(headers)


def test_ownership_rule():
    assert Identity(1, "user").may_act_for(1)
    assert not Identity(1, "user").may_act_for(2)
    assert not Identity(1, "editor").may_act_for(2)
    assert Identity(1, "admin").may_act_for(2) and Identity(5, "service").may_act_for(2)
    assert not ANONYMOUS_IDENTITY.may_act_for(None) and not ANONYMOUS_IDENTITY.may_act_for(1)


def test_revocation_refuses_tokens_issued_before_not_before_only():
    table = {5: 1000.5}
    assert is_revoked(table, 5, 1000.4)
    assert not is_revoked(table, 5, 1000.5) and not is_revoked(table, 5, 1001.0)
    assert not is_revoked(table, 6, 1.0)


def test_notification_payload_round_trip():
    params = revoke_params(12, "logout", now=1764100000.123456)
    assert params["channel"] == "token_revocations"
    assert parse_notification(f"{params['user_id']}:{params['not_before']}") == (12, 1764100000.123456)
    with pytest.raises(ValueError):
        parse_notification("12")
