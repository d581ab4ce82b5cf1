"""The ID token's checks (adapters/oidc.py, rule 5), each attack in its own test:
tokens minted here with joserfc, as a provider (or an attacker) would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from pydantic import ValidationError

from helpdesk.identity.adapters.oidc import Expected, OidcProvider, verify_id_token
from helpdesk.identity.domain.errors import OrganisationRefused
from helpdesk.identity.settings import Settings
from tests.tokens import seal_public_key

ISSUER = "https://idp.example.gr/realms/staff"
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
PUBLIC = KeySet.import_key_set({"keys": [KEY.as_dict(private=False)]})


def expected(**overrides: Any) -> Expected:
    values: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": "helpdesk",
        "nonce": "the-nonce",
        "algorithms": ["RS256", "ES256"],
        "now": NOW,
        "leeway": 60,
        **overrides,
    }
    return Expected(**values)


def claims(**overrides: Any) -> dict[str, Any]:
    at = int(NOW.timestamp())
    return {
        "iss": ISSUER,
        "sub": "248289761001",
        "aud": "helpdesk",
        "nonce": "the-nonce",
        "iat": at,
        "exp": at + 300,
        "email": "ana@example.gr",
        **overrides,
    }


def oidc_settings(issuer: str = ISSUER, **overrides: Any) -> Settings:
    """Identity's settings with an OpenID Connect provider at `issuer`."""
    values: dict[str, Any] = {
        "jwt_private_key": "unused",
        "notifier_seal_public_key": seal_public_key(),
        "oidc_issuer": issuer,
        "oidc_client_id": "helpdesk",
        **overrides,
    }
    return Settings(**values)


def minted(key: RSAKey = KEY, **overrides: Any) -> str:
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims(**overrides), key)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def alg_none(body: dict[str, Any]) -> str:
    """A token with `body` that says it needs no signature."""
    return f"{b64(json.dumps({'alg': 'none'}).encode())}.{b64(json.dumps(body).encode())}."


def hs256_keyed_with(public_key: dict[str, Any], body: dict[str, Any]) -> str:
    """The confusion: an HMAC whose secret is the provider's public key (a JWK), which
    anyone has, in a header naming that key."""
    secret = json.dumps(public_key).encode()
    header = b64(json.dumps({"alg": "HS256", "kid": public_key["kid"]}).encode())
    signed = f"{header}.{b64(json.dumps(body).encode())}"
    return f"{signed}.{b64(hmac.new(secret, signed.encode(), hashlib.sha256).digest())}"


def test_a_good_token_passes() -> None:
    assert verify_id_token(minted(), PUBLIC, expected())["sub"] == "248289761001"


def test_alg_none_is_refused() -> None:
    with pytest.raises(OrganisationRefused):
        verify_id_token(alg_none(claims()), PUBLIC, expected())


def test_hs256_keyed_with_the_public_key_is_refused() -> None:
    # Even were HS256 allowed, no HMAC key is the provider's.
    forged = hs256_keyed_with(KEY.as_dict(private=False), claims())
    with pytest.raises(OrganisationRefused):
        verify_id_token(forged, PUBLIC, expected(algorithms=["RS256", "HS256"]))


@pytest.mark.parametrize("algorithms", ["RS256,none", "HS256", "RS256, hs512", " , "])
def test_the_setting_allows_asymmetric_algorithms_only(algorithms: str) -> None:
    # So neither alg "none" nor an HMAC can be let in by configuration (rule 5).
    with pytest.raises(ValidationError):
        oidc_settings(oidc_algorithms=algorithms)
    assert oidc_settings().oidc_algorithms == ("RS256", "PS256", "ES256", "EdDSA")


def test_another_nonce_is_refused() -> None:
    with pytest.raises(OrganisationRefused):
        verify_id_token(minted(nonce="an old one"), PUBLIC, expected())


def test_another_issuer_is_refused() -> None:
    with pytest.raises(OrganisationRefused):
        verify_id_token(minted(iss="https://evil.example.com"), PUBLIC, expected())


def test_another_audience_is_refused() -> None:
    with pytest.raises(OrganisationRefused):
        verify_id_token(minted(aud="another-client"), PUBLIC, expected())


def test_several_audiences_need_us_as_the_authorized_party() -> None:
    token = minted(aud=["helpdesk", "another-client"], azp="another-client")
    with pytest.raises(OrganisationRefused):
        verify_id_token(token, PUBLIC, expected())
    token = minted(aud=["helpdesk", "another-client"], azp="helpdesk")
    assert verify_id_token(token, PUBLIC, expected())["azp"] == "helpdesk"


def test_an_expired_token_is_refused_beyond_the_allowed_skew() -> None:
    old = int((NOW - timedelta(minutes=10)).timestamp())
    with pytest.raises(OrganisationRefused):
        verify_id_token(minted(iat=old, exp=old + 300), PUBLIC, expected())
    late = int((NOW - timedelta(seconds=30)).timestamp())
    verify_id_token(minted(exp=late), PUBLIC, expected())  # within the 60 s skew


def test_a_forged_signature_is_refused() -> None:
    other = RSAKey.generate_key(2048, parameters={"kid": "k1"})  # same kid, another key
    with pytest.raises(OrganisationRefused):
        verify_id_token(minted(key=other), PUBLIC, expected())


async def test_a_rotated_key_is_fetched_from_the_jwks_again() -> None:
    new_key = RSAKey.generate_key(2048, parameters={"kid": "k2"})
    served = {"keys": [KEY.as_dict(private=False)]}

    def provider(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("openid-configuration"):
            return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks"})
        return httpx.Response(200, json=served)

    adapter = OidcProvider(oidc_settings(), transport=httpx.MockTransport(provider))
    assert len((await adapter.keys()).keys) == 1
    served = {"keys": [KEY.as_dict(private=False), new_key.as_dict(private=False)]}
    adapter._keys_read_at -= 120  # the last read is older than the refresh interval
    token = minted(key=new_key)
    with pytest.raises(OrganisationRefused):
        verify_id_token(token, await adapter.keys(), expected())
    refreshed = await adapter.keys(refresh=True)
    assert verify_id_token(token, refreshed, expected())["sub"] == "248289761001"
