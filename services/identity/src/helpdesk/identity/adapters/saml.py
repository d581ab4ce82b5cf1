"""SAML 2.0 service provider (pysaml2, signatures checked by Debian's xmlsec1;
docs/sso.md, "SAML").

Rules, in order:
1. The IdP and its signing certificate come from its metadata
   (HELPDESK_SAML_IDP_METADATA_URL), read once per process. With
   HELPDESK_SAML_IDP_METADATA_CERT, only metadata signed by that certificate's
   key and not expired is read (`saml_metadata.py`), and it is read again once
   its `validUntil` has passed.
2. An AuthnRequest's ID is ours: random, with its expiry, MAC'd under
   identity's key (no server state). A response must answer such an ID
   (`InResponseTo`): unsolicited responses are refused.
3. The assertion must be signed by the IdP (`want_assertions_signed`): an
   unsigned one, or one whose signature covers another element than the one
   read (signature wrapping: xmlsec1 checks the reference by ID, pysaml2 reads
   the element it verified), is refused.
4. Audience, recipient/destination, NotBefore / NotOnOrAfter (with
   HELPDESK_SAML_CLOCK_SKEW_SECONDS) are pysaml2's checks.
5. Each assertion ID is good once (the caller's replay cache).
pysaml2 blocks (xmlsec1 runs as a subprocess): its calls run in a worker thread.
No assertion or response is logged.
"""

from __future__ import annotations

import asyncio
import base64
import re
from datetime import UTC, datetime
from typing import Any

import httpx
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string

from helpdesk.identity.adapters import saml_metadata
from helpdesk.identity.domain.errors import DirectoryUnavailable, OrganisationRefused
from helpdesk.identity.domain.organisation import OrganisationPerson
from helpdesk.identity.handlers.deps import SamlAnswer
from helpdesk.identity.settings import Settings
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)

_IN_RESPONSE_TO = re.compile(rb'InResponseTo="([A-Za-z_][\w.-]{0,200})"')


class SamlServiceProvider:
    def __init__(self, settings: Settings) -> None:
        self._s = settings
        self._client: Saml2Client | None = None
        self._valid_until: datetime | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Saml2Client:
        async with self._lock:
            now = datetime.now(UTC)
            if self._client is None or (self._valid_until and self._valid_until <= now):
                self._client = None
                xml = await self._idp_metadata(now)
                self._client = await asyncio.to_thread(self._build, xml)
        return self._client

    async def _idp_metadata(self, now: datetime) -> str:
        s = self._s
        try:
            async with httpx.AsyncClient(timeout=s.saml_timeout_seconds) as http:
                response = await http.get(s.saml_idp_metadata_url)
                response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("SAML IdP metadata unreachable", error=type(exc).__name__)
            raise DirectoryUnavailable("The organisation's sign-in does not answer.") from None
        if s.saml_idp_metadata_cert:
            try:
                async with asyncio.timeout(s.saml_timeout_seconds):
                    self._valid_until = await saml_metadata.verified(
                        response.content,
                        cert_file=s.saml_idp_metadata_cert,
                        xmlsec_binary=s.saml_xmlsec_binary,
                        now=now,
                    )
            except (saml_metadata.MetadataRefused, TimeoutError) as refused:
                reason = str(refused) or "xmlsec1 took too long to check its signature"
                log.warning("SAML IdP metadata refused", reason=reason)
                raise DirectoryUnavailable(
                    "The organisation's sign-in is not available now."
                ) from None
        return response.text

    def _build(self, idp_metadata: str) -> Saml2Client:
        s = self._s
        config = SPConfig()
        config.load(
            {
                "entityid": s.saml_sp_entity_id,
                "xmlsec_binary": s.saml_xmlsec_binary,
                "metadata": {"inline": [idp_metadata]},
                "accepted_time_diff": s.saml_clock_skew_seconds,
                "allow_unknown_attributes": True,
                "service": {
                    "sp": {
                        "endpoints": {
                            "assertion_consumer_service": [(s.saml_acs_url, BINDING_HTTP_POST)]
                        },
                        "want_assertions_signed": True,  # rule 3
                        "want_response_signed": False,
                        "allow_unsolicited": False,  # rule 2
                        "authn_requests_signed": False,
                    }
                },
            }
        )
        return Saml2Client(config=config)

    def _idp(self, client: Saml2Client) -> str:
        if self._s.saml_idp_entity_id:
            return self._s.saml_idp_entity_id
        idps = list(client.metadata.identity_providers())
        if len(idps) != 1:
            raise DirectoryUnavailable(
                "Set HELPDESK_SAML_IDP_ENTITY_ID: the metadata has many IdPs."
            )
        return str(idps[0])

    # ---- the port

    async def metadata(self) -> str:
        client = await self.client()
        xml = await asyncio.to_thread(create_metadata_string, None, client.config, 4)
        return xml.decode() if isinstance(xml, bytes) else str(xml)

    async def redirect(self, request_id: str, relay_state: str) -> str:
        client = await self.client()

        def prepare() -> str:
            _, info = client.prepare_for_authenticate(
                entityid=self._idp(client),
                relay_state=relay_state,
                binding=BINDING_HTTP_REDIRECT,
                message_id=request_id,
            )
            return str(dict(info["headers"])["Location"])

        return await asyncio.to_thread(prepare)

    @staticmethod
    def answered_request(saml_response: str) -> str | None:
        """The request ID a response says it answers (read before anything is trusted)."""
        try:
            raw = base64.b64decode(saml_response, validate=False)
        except ValueError:
            return None
        found = _IN_RESPONSE_TO.search(raw)
        return found.group(1).decode() if found else None

    async def answer(self, saml_response: str, request_id: str) -> SamlAnswer:
        client = await self.client()

        def parse() -> Any:
            return client.parse_authn_request_response(
                saml_response, BINDING_HTTP_POST, outstanding={request_id: "/"}
            )

        try:
            response = await asyncio.to_thread(parse)
        except Exception as exc:
            raise OrganisationRefused(f"SAML response refused ({type(exc).__name__})") from None
        if response is None or response.assertion is None:
            raise OrganisationRefused("SAML response without an assertion")
        if response.assertion.signature is None:  # rule 3, whatever signed the response
            raise OrganisationRefused("unsigned assertion")
        return SamlAnswer(self._person(response), str(response.assertion.id))

    def _person(self, response: Any) -> OrganisationPerson:
        s = self._s
        attributes: dict[str, list[str]] = {
            k.lower(): [str(v) for v in values] for k, values in response.ava.items()
        }

        def first(name: str) -> str:
            values = attributes.get(name.lower()) or []
            return values[0].strip() if values else ""

        external_id = first(s.saml_id_attribute)
        if not external_id:
            name_id = response.assertion.subject.name_id
            persistent = name_id is not None and (name_id.format or "").endswith(":persistent")
            external_id = str(name_id.text) if persistent else ""
        email = first(s.saml_email_attribute)
        if not external_id or not email:
            raise OrganisationRefused("the IdP sent no lasting id or no e-mail address")
        return OrganisationPerson(
            source="saml",
            external_id=external_id,
            username=first(s.saml_username_attribute) or email.partition("@")[0],
            name=first(s.saml_name_attribute) or email,
            email=email,
            groups=frozenset(g.lower() for g in attributes.get(s.saml_role_attribute.lower(), [])),
            email_verified=True,  # the IdP vouches for the attributes it signs
        )
