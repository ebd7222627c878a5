"""The identity the gateway signs and the services verify (pure: no services)."""

from __future__ import annotations

import pytest

from kernel import signed_identity
from kernel.errors import Unauthorized
from kernel.identity import ANONYMOUS_IDENTITY, Identity, IdentityCheck, identity_from_headers
from proxy.forward import upstream_headers
from proxy.types import Inbound

SECRET = b"s" * 32
NOW = 1_800_000_000
CHECK = IdentityCheck(SECRET)


def _signed(user: str = "7", role: str = "admin", request_id: str = "rid-1", at: int = NOW) -> dict[str, str]:
    return {"X-User-Id": user, "X-User-Role": role, "X-Request-Id": request_id,
            "X-Identity-Signature": signed_identity.sign(SECRET, user, role, request_id, at)}


def test_a_signed_identity_is_accepted():
    assert identity_from_headers(_signed(), CHECK, now=NOW + 5) == Identity(7, "admin")


@pytest.mark.parametrize(("change", "reason"), [
    ({"X-User-Role": "service"}, "invalid"),  # a user's signature does not make them a service
    ({"X-User-Id": "8"}, "invalid"),
    ({"X-Request-Id": "rid-2"}, "invalid"),  # bound to its request
    ({"X-Identity-Signature": None}, "without the gateway's signature"),
    ({"X-Identity-Signature": "abc.def"}, "malformed"),
    ({"X-Identity-Signature": f"{NOW}.{'0' * 64}"}, "invalid"),
])
def test_anything_but_the_gateways_signature_is_refused(change, reason):
    headers = {k: v for k, v in {**_signed(), **change}.items() if v is not None}
    with pytest.raises(Unauthorized, match=reason):
        identity_from_headers(headers, CHECK, now=NOW)


def test_a_stale_signature_is_refused():
    with pytest.raises(Unauthorized, match="expired"):
        identity_from_headers(_signed(at=NOW - signed_identity.MAX_AGE_SECONDS - 1), CHECK, now=NOW)


def test_a_signature_under_another_secret_is_refused():
    with pytest.raises(Unauthorized, match="invalid"):
        identity_from_headers(_signed(), IdentityCheck(b"other"), now=NOW)


def test_anonymous_requests_need_no_signature_and_development_may_allow_unsigned():
    assert identity_from_headers({}, CHECK, now=NOW) == ANONYMOUS_IDENTITY
    unsigned = {"X-User-Id": "1", "X-User-Role": "admin"}
    assert identity_from_headers(unsigned, IdentityCheck(SECRET, allow_unsigned=True)) == Identity(1, "admin")
    with pytest.raises(Unauthorized):
        identity_from_headers(unsigned, CHECK)


def test_the_gateway_forwards_its_signature_and_never_a_client_sent_one():
    request = Inbound("GET", "/api/users", "", [("x-identity-signature", "forged"), ("x-user-id", "1")],
                      "127.0.0.5", "http", None)
    signature = signed_identity.sign(SECRET, "7", "user", "rid-9", NOW)
    headers = upstream_headers(request, "rid-9", "7", "user", signature)
    assert [v for n, v in headers if n.lower() == "x-identity-signature"] == [signature]
    assert identity_from_headers(dict(headers), CHECK, now=NOW) == Identity(7, "user")
    anonymous = upstream_headers(request, "rid-9", None, None, None)
    assert not [n for n, _ in anonymous if n.lower() in ("x-identity-signature", "x-user-id")]


def test_the_secret_is_generated_once_into_the_run_dir(tmp_path):
    from kernel.settings import load_settings

    settings = load_settings({"RUN_DIR": str(tmp_path)})
    first = signed_identity.load_secret(settings)
    assert len(first) >= 32 and signed_identity.load_secret(settings) == first
    assert (tmp_path / "identity_secret").stat().st_mode & 0o777 == 0o600
    assert signed_identity.load_secret(load_settings({"IDENTITY_SECRET": "given"})) == b"given"
