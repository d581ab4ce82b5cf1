"""Passkeys (WebAuthn): added by a signed-in person, then a second factor at a
sign-in's `mfa_required` step, or a sign-in of their own without a password
(docs/sso.md, "Passkeys").

Each ceremony is two commands: the first answers the browser's options
(`navigator.credentials.create` / `.get`) and a sealed `ceremony` (its challenge,
whose it is, until when), the second takes the ceremony back with the browser's
credential as JSON. Only identity can open a ceremony.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from helpdesk.contracts.factors import ChallengeId, Factors
from helpdesk.contracts.identity import (
    SignIn,
    _AddressedCommand,
    _CallerCommand,
    _IdentityCommand,
)

Ceremony = Annotated[str, Field(min_length=1, max_length=1000, pattern=r"^[A-Za-z0-9_=-]+$")]
# The browser's PublicKeyCredential as JSON (py_webauthn's shape), bounded.
Credential = Annotated[str, Field(min_length=2, max_length=20_000)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PasskeyOptions(BaseModel):
    options: dict[str, Any] = Field(description="For navigator.credentials.create / .get")
    ceremony: str = Field(description="Sealed; give it back with the credential")


class PasskeyCredential(_Body):
    ceremony: Ceremony
    credential: Credential


class PasskeySignInRequest(_Body):
    """Empty for a sign-in without a password; a `mfa_required` challenge's id to
    answer that step with a passkey."""

    challenge_id: ChallengeId | None = None


class PasskeySignIn(_Body):
    ceremony: Ceremony
    credential: Credential
    challenge_id: ChallengeId | None = None


class StartPasskeyRegistration(_CallerCommand[PasskeyOptions]):
    verb: ClassVar[str] = "start_passkey_registration"


class FinishPasskeyRegistration(_CallerCommand[Factors], PasskeyCredential):
    verb: ClassVar[str] = "finish_passkey_registration"


class StartPasskeySignIn(_IdentityCommand[PasskeyOptions], PasskeySignInRequest):
    verb: ClassVar[str] = "start_passkey_sign_in"


class CompletePasskeySignIn(_AddressedCommand[SignIn], PasskeySignIn):
    verb: ClassVar[str] = "complete_passkey_sign_in"
