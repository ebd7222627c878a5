"""Unit tests of the Ed25519 token helpers (no database)."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from kernel import identity, tokens
from kernel.settings import load_settings
from kernel.tokens import (
    ISSUER,
    REFRESH,
    InvalidToken,
    TokenClaims,
    generate_keys,
    issue_token,
    key_paths,
    load_or_create_keys,
    load_public_key,
    verify_claims,
)


@pytest.fixture
def key_settings(tmp_path):
    """Settings whose RUN_DIR is a fresh temporary directory."""
    return load_settings({"RUN_DIR": str(tmp_path)})


@pytest.fixture(scope="module")
def keys():
    return generate_keys()


def test_keys_are_created_once_with_private_mode_600(key_settings):
    private_pem, public_pem = load_or_create_keys(key_settings)
    private_path, public_path = key_paths(key_settings)
    assert private_path == key_settings.run_path / "keys" / "jwt_ed25519.pem"
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    assert public_path.read_text() == public_pem
    assert load_or_create_keys(key_settings) == (private_pem, public_pem)
    assert load_public_key(key_settings) == public_pem


def test_configured_key_paths_are_honoured(tmp_path):
    settings = load_settings({
        "RUN_DIR": str(tmp_path / "run"),
        "JWT_PRIVATE_KEY_PATH": str(tmp_path / "a" / "priv.pem"),
        "JWT_PUBLIC_KEY_PATH": str(tmp_path / "b" / "pub.pem"),
    })
    _, public_pem = load_or_create_keys(settings)
    assert (tmp_path / "a" / "priv.pem").exists()
    assert (tmp_path / "b" / "pub.pem").read_text() == public_pem


def test_missing_public_key_is_rederived(key_settings):
    private_pem, public_pem = load_or_create_keys(key_settings)
    key_paths(key_settings)[1].unlink()
    assert load_or_create_keys(key_settings) == (private_pem, public_pem)


def test_round_trip_returns_user_id(keys):
    private_pem, public_pem = keys
    token = issue_token(42, private_pem, 60)
    assert verify_claims(token, public_pem).user_id == 42
    claims = jwt.decode(token, public_pem, algorithms=["EdDSA"], issuer=ISSUER)
    assert claims["sub"] == "42" and claims["exp"] - claims["iat"] == pytest.approx(60)


def test_expired_token_is_rejected(keys):
    private_pem, public_pem = keys
    token = issue_token(1, private_pem, 60, now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(InvalidToken, match="expired"):
        verify_claims(token, public_pem)


def test_tampered_payload_is_rejected(keys):
    private_pem, public_pem = keys
    header, payload, signature = issue_token(1, private_pem, 60).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "2"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidToken):
        verify_claims(f"{header}.{forged}.{signature}", public_pem)


def test_token_from_another_key_is_rejected(keys):
    other_private, _ = generate_keys()
    with pytest.raises(InvalidToken):
        verify_claims(issue_token(1, other_private, 60), keys[1])


def test_other_algorithms_are_rejected(keys):
    _, public_pem = keys
    exp = datetime.now(UTC) + timedelta(minutes=5)
    unsigned = jwt.encode({"sub": "1", "exp": exp, "iss": ISSUER}, None, algorithm="none")
    with pytest.raises(InvalidToken):
        verify_claims(unsigned, public_pem)
    hmac = jwt.encode({"sub": "1", "exp": exp, "iss": ISSUER}, "a-shared-secret-long-enough-for-hs256!!", "HS256")
    with pytest.raises(InvalidToken):
        verify_claims(hmac, public_pem)


@pytest.mark.parametrize("claims", [
    {"sub": "1", "iss": ISSUER},  # no exp
    {"exp": datetime.now(UTC) + timedelta(minutes=5), "iss": ISSUER},  # no sub
    {"sub": "abc", "exp": datetime.now(UTC) + timedelta(minutes=5), "iss": ISSUER},
    {"sub": "1", "exp": datetime.now(UTC) + timedelta(minutes=5), "iss": "someone-else"},
])
def test_tokens_missing_or_bad_claims_are_rejected(keys, claims):
    private_pem, public_pem = keys
    with pytest.raises(InvalidToken):
        verify_claims(jwt.encode(claims, private_pem, algorithm="EdDSA"), public_pem)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x"])
def test_garbage_is_rejected(keys, garbage):
    with pytest.raises(InvalidToken):
        verify_claims(garbage, keys[1])


def test_claims_carry_role_and_sub_second_issue_time(keys):
    private_pem, public_pem = keys
    issued = int(datetime.now(UTC).timestamp()) - 0.75
    claims = verify_claims(issue_token(7, private_pem, 60, role="editor", now=issued), public_pem)
    assert claims == TokenClaims(user_id=7, role="editor", issued_at=issued, expires_at=issued + 60)


def test_each_token_has_its_own_jti(keys):
    private_pem, _ = keys
    first, second = (jwt.decode(issue_token(1, private_pem, 60), options={"verify_signature": False}) for _ in "ab")
    assert first["jti"] != second["jti"] and first["typ"] == "access" and first["role"] == "user"


def test_refresh_token_is_not_an_access_token_and_vice_versa(keys):
    private_pem, public_pem = keys
    refresh = issue_token(3, private_pem, 60, kind=REFRESH)
    with pytest.raises(InvalidToken, match="expected access"):
        verify_claims(refresh, public_pem)
    with pytest.raises(InvalidToken):
        verify_claims(refresh, public_pem)
    assert verify_claims(refresh, public_pem, kind=REFRESH).user_id == 3
    with pytest.raises(InvalidToken):
        verify_claims(issue_token(3, private_pem, 60), public_pem, kind=REFRESH)


def _signed(private_pem: str, **overrides) -> str:
    now = datetime.now(UTC).timestamp()
    claims = {"sub": "1", "role": "user", "typ": "access", "iat": now, "exp": now + 60, "iss": ISSUER, "jti": "j"}
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, private_pem, algorithm="EdDSA")


@pytest.mark.parametrize("overrides", [
    {"role": "root"}, {"role": None}, {"role": ["admin"]}, {"typ": None}, {"typ": "id"}, {"jti": None},
    {"iat": None}, {"sub": "\u0661"}, {"sub": "0"},
])
def test_unknown_role_kind_or_missing_claims_are_rejected(keys, overrides):
    private_pem, public_pem = keys
    with pytest.raises(InvalidToken):
        verify_claims(_signed(private_pem, **overrides), public_pem)


def test_issue_refuses_an_unknown_role(keys):
    with pytest.raises(ValueError):
        issue_token(1, keys[0], 60, role="root")


def test_role_groups_are_made_of_token_roles():
    assert not (tokens.PRIVILEGED | tokens.EDITORS) - set(tokens.ROLES)
    assert identity.PRIVILEGED is tokens.PRIVILEGED  # the request side reads the one declaration
