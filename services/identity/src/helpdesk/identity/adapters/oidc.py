"""OpenID Connect (Authlib's OAuth 2 client for the code + PKCE exchange, joserfc
for the ID token; docs/sso.md, "OpenID Connect").

Rules, in order:
1. The endpoints and the JWKS come from the issuer's discovery document, whose
   `issuer` must be exactly the configured one (OIDC Discovery §4.3).
2. The authorization request carries `state`, `nonce` and a PKCE S256 challenge;
   the caller keeps the three sealed and checks `state` (handlers/sessions.py).
3. An authorization response that names another issuer (`iss`, RFC 9207) is a
   mix-up: refused before the code is sent anywhere. A provider that announces
   `iss` in its responses must send it.
4. The code is exchanged with the PKCE verifier of this flow: a code injected
   from another flow fails at the token endpoint.
5. The ID token's `alg` must be one of HELPDESK_OIDC_ALGORITHMS (asymmetric
   only: never `none`, never HS256 keyed with a public key), its signature must
   verify with a key of the JWKS (re-read once when the token names a key it
   does not have: rotation), and `iss`, `aud` (and `azp` with several
   audiences), `exp`, `iat` (with HELPDESK_OIDC_CLOCK_SKEW_SECONDS) and `nonce`
   must be this flow's.
6. The UserInfo answer, when there is one, must be about the same `sub`.
No token, code or secret is logged; errors are logged by their type.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from authlib.deprecate import AuthlibDeprecationWarning
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from helpdesk.identity.domain.errors import DirectoryUnavailable, OrganisationRefused
from helpdesk.identity.domain.organisation import OrganisationPerson
from helpdesk.identity.handlers.deps import OidcFlow
from helpdesk.identity.settings import Settings
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)

# Authlib 1.9 deprecates its httpx client in favour of httpx2 (it falls back to httpx
# with a warning at import). The project's HTTP client is httpx (the gateway's, the
# tests'); the warning is silenced here, where the one import is (docs/sso.md).
with warnings.catch_warnings():
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

# The JWKS is re-read at most this often when a token names an unknown key.
JWKS_REFRESH_SECONDS = 60.0


@dataclass(frozen=True)
class Expected:
    """What the ID token must say (rule 5)."""

    issuer: str
    audience: str
    nonce: str
    algorithms: list[str]
    now: datetime
    leeway: int


def verify_id_token(raw: str, keys: KeySet, expected: Expected) -> dict[str, Any]:
    """The ID token's claims if it passes rule 5, else `OrganisationRefused`."""
    try:
        header = extract_compact(raw.encode()).headers()
    except (JoseError, ValueError) as exc:
        raise OrganisationRefused(f"malformed ID token ({type(exc).__name__})") from None
    if header.get("alg") not in expected.algorithms:
        raise OrganisationRefused(f"ID token algorithm {header.get('alg')!r} not allowed")
    try:
        token = jwt.decode(raw, keys, algorithms=expected.algorithms)
        claims = dict(token.claims)
        jwt.JWTClaimsRegistry(
            now=int(expected.now.timestamp()),
            leeway=expected.leeway,
            iss={"essential": True, "value": expected.issuer},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": expected.nonce},
        ).validate(claims)
    except (JoseError, ValueError) as exc:
        raise OrganisationRefused(f"ID token refused ({type(exc).__name__})") from None
    audiences = claims.get("aud")
    audiences = [audiences] if isinstance(audiences, str) else list(audiences or [])
    if expected.audience not in audiences:
        raise OrganisationRefused("ID token is for another client")
    if len(audiences) > 1 and claims.get("azp") != expected.audience:
        raise OrganisationRefused("ID token's authorized party is another client")
    return claims


class OidcProvider:
    def __init__(
        self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._s = settings
        self._transport = transport  # a test's stand-in for the network
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._keys_read_at = 0.0

    # ---- discovery and keys

    async def _get(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(
                timeout=self._s.oidc_timeout_seconds, transport=self._transport
            ) as http:
                response = await http.get(url)
                response.raise_for_status()
                body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("identity provider unreachable", error=type(exc).__name__)
            raise DirectoryUnavailable("The organisation's sign-in does not answer.") from None
        if not isinstance(body, dict):
            raise DirectoryUnavailable("The organisation's sign-in answered nonsense.")
        return body

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            issuer = self._s.oidc_issuer.rstrip("/")
            found = await self._get(f"{issuer}/.well-known/openid-configuration")
            if found.get("issuer") != self._s.oidc_issuer:  # rule 1
                log.warning("discovery names another issuer")
                raise DirectoryUnavailable("The identity provider names another issuer.")
            self._metadata = found
        return self._metadata

    async def keys(self, *, refresh: bool = False) -> KeySet:
        stale = time.monotonic() - self._keys_read_at > JWKS_REFRESH_SECONDS
        if self._keys is None or (refresh and stale):
            jwks = await self._get(str((await self.metadata())["jwks_uri"]))
            try:
                self._keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
            except (JoseError, ValueError, TypeError) as exc:
                log.warning("JWKS unreadable", error=type(exc).__name__)
                raise DirectoryUnavailable("The identity provider's keys are unreadable.") from None
            self._keys_read_at = time.monotonic()
        return self._keys

    def _client(self, flow: OidcFlow) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self._s.oidc_client_id,
            client_secret=self._s.oidc_client_secret.get_secret_value(),
            scope=self._s.oidc_scopes,
            redirect_uri=flow.redirect_uri,
            code_challenge_method="S256",
            timeout=self._s.oidc_timeout_seconds,
            transport=self._transport,
        )

    # ---- the port

    async def authorization(self, flow: OidcFlow) -> str:
        endpoint = str((await self.metadata())["authorization_endpoint"])
        async with self._client(flow) as client:
            url, _ = client.create_authorization_url(
                endpoint, state=flow.state, nonce=flow.nonce, code_verifier=flow.verifier
            )
        return str(url)

    async def person(
        self, flow: OidcFlow, code: str, issuer: str | None, now: datetime
    ) -> OrganisationPerson:
        metadata = await self.metadata()
        if issuer is not None and issuer != self._s.oidc_issuer:  # rule 3
            raise OrganisationRefused("the answer comes from another issuer")
        if issuer is None and metadata.get("authorization_response_iss_parameter_supported"):
            raise OrganisationRefused("the answer does not say its issuer")
        try:
            async with self._client(flow) as client:  # rule 4
                token = await client.fetch_token(
                    str(metadata["token_endpoint"]), code=code, code_verifier=flow.verifier
                )
                claims = await self._id_token(str(token.get("id_token") or ""), flow, now)
                info = await self._userinfo(client, metadata, claims["sub"])
        except OrganisationRefused:
            raise
        except httpx.HTTPError as exc:
            log.warning("identity provider unreachable", error=type(exc).__name__)
            raise DirectoryUnavailable("The organisation's sign-in does not answer.") from None
        except Exception as exc:
            log.info("code exchange refused", error=type(exc).__name__)
            raise OrganisationRefused("the identity provider refused the code") from None
        return self._person({**info, **claims})

    async def _id_token(self, raw: str, flow: OidcFlow, now: datetime) -> dict[str, Any]:
        expected = Expected(
            issuer=self._s.oidc_issuer,
            audience=self._s.oidc_client_id,
            nonce=flow.nonce,
            algorithms=list(self._s.oidc_algorithms),
            now=now,
            leeway=self._s.oidc_clock_skew_seconds,
        )
        try:
            return verify_id_token(raw, await self.keys(), expected)
        except OrganisationRefused:
            # A key the cached JWKS does not have: the provider may have rotated.
            return verify_id_token(raw, await self.keys(refresh=True), expected)

    async def _userinfo(
        self, client: AsyncOAuth2Client, metadata: dict[str, Any], sub: str
    ) -> dict[str, Any]:
        endpoint = metadata.get("userinfo_endpoint")
        if not endpoint:
            return {}
        response = await client.get(str(endpoint))
        if response.status_code != 200:
            return {}
        info = response.json()
        if not isinstance(info, dict) or info.get("sub") != sub:  # rule 6
            raise OrganisationRefused("UserInfo is about someone else")
        return info

    def _person(self, claims: dict[str, Any]) -> OrganisationPerson:
        email = str(claims.get("email") or "")
        if not email:
            raise OrganisationRefused("the identity provider gave no e-mail address")
        groups = claims.get(self._s.oidc_role_claim) or []
        if isinstance(groups, str):
            groups = [groups]
        return OrganisationPerson(
            source="oidc",
            external_id=str(claims["sub"]),
            username=str(claims.get("preferred_username") or email.partition("@")[0]),
            name=str(claims.get("name") or claims.get("preferred_username") or email),
            email=email,
            groups=frozenset(str(g).lower() for g in groups if isinstance(g, str | int)),
            email_verified=claims.get("email_verified") is True,
            locale=str(claims.get("locale") or "") or None,
        )
