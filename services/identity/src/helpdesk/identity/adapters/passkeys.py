"""Passkeys / WebAuthn ceremonies (py_webauthn; docs/sso.md, "Passkeys").

The relying party is HELPDESK_WEBAUTHN_RP_ID (default: the host of
HELPDESK_PUBLIC_URL) and the origins the browser may sign for are
HELPDESK_WEBAUTHN_ORIGINS (default: HELPDESK_PUBLIC_URL's). Registration asks
for a resident key and user verification, so one passkey is a second factor
and a password-less sign-in alike; no attestation is asked for (a passkey is
the person's own device, not a managed token). The challenge is made here and
kept, sealed, by the browser until the answer (handlers/passkeys.py).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidCBORData,
    InvalidJSONStructure,
    InvalidRegistrationResponse,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from helpdesk.identity.domain.errors import InvalidCode
from helpdesk.identity.handlers.deps import NewPasskey
from helpdesk.identity.settings import Settings

_REFUSED = (
    InvalidAuthenticationResponse,
    InvalidRegistrationResponse,
    InvalidCBORData,
    InvalidJSONStructure,
    ValueError,
    KeyError,
    TypeError,
)


class WebAuthnCeremonies:
    def __init__(self, settings: Settings) -> None:
        public = urlsplit(settings.public_url)
        self._rp_id = settings.webauthn_rp_id or public.hostname or "localhost"
        self._origins = list(settings.webauthn_origins) or [f"{public.scheme}://{public.netloc}"]

    def _expected(self, challenge: bytes) -> dict[str, Any]:
        """What both ceremonies check the browser's answer against: our challenge,
        relying party and origins, and that the person was verified on the device."""
        return {
            "expected_challenge": challenge,
            "expected_rp_id": self._rp_id,
            "expected_origin": self._origins,
            "require_user_verification": True,
        }

    def registration_options(
        self, user_handle: bytes, username: str, display_name: str, exclude: list[str]
    ) -> tuple[str, bytes]:
        options = generate_registration_options(
            rp_id=self._rp_id,
            rp_name="Helpdesk",
            user_id=user_handle,
            user_name=username,
            user_display_name=display_name,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in exclude
            ],
        )
        return options_to_json(options), options.challenge

    def verify_registration(self, credential: str, challenge: bytes) -> NewPasskey:
        try:
            verified = verify_registration_response(
                credential=credential, **self._expected(challenge)
            )
        except _REFUSED:
            raise InvalidCode("This passkey could not be checked; try again.") from None
        return NewPasskey(
            credential_id=bytes_to_base64url(verified.credential_id),
            public_key=bytes_to_base64url(verified.credential_public_key),
            sign_count=verified.sign_count,
        )

    def authentication_options(self, allow: list[str]) -> tuple[str, bytes]:
        options = generate_authentication_options(
            rp_id=self._rp_id,
            allow_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in allow
            ],
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return options_to_json(options), options.challenge

    @staticmethod
    def credential_id_of(credential: str) -> str | None:
        try:
            found = json.loads(credential).get("id")
        except (ValueError, AttributeError):
            return None
        return found if isinstance(found, str) and 0 < len(found) <= 1400 else None

    def verify_authentication(
        self, credential: str, challenge: bytes, public_key: str, sign_count: int
    ) -> int:
        try:
            verified = verify_authentication_response(
                credential=credential,
                credential_public_key=base64url_to_bytes(public_key),
                credential_current_sign_count=sign_count,
                **self._expected(challenge),
            )
        except _REFUSED:
            raise InvalidCode("This passkey was not accepted.") from None
        return int(verified.new_sign_count)
