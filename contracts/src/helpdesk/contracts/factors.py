"""Second factors of local accounts: TOTP with recovery codes (docs/sso.md).

A correct password answers `MfaChallenge` (helpdesk.contracts.identity) when
the account has a second factor, or when its role needs one and it has none
yet. The challenge is completed with a code (`CompleteSignIn`), or first used
to enrol TOTP (`EnrolTotpAtSignIn`, `ConfirmTotpAtSignIn`). A signed-in user
manages their factors with the `actor` commands. Neither a TOTP seed nor a
code ever leaves identity except the seed once, to its owner, at enrolment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from helpdesk.contracts.identity import (
    ClientAddress,
    SecondFactorKind,
    SessionTokens,
    _CallerCommand,
    _CallerQuery,
    _IdentityCommand,
    _MailedToOwner,
)

ChallengeId = Annotated[str, Field(min_length=1, max_length=300, pattern=r"^[A-Za-z0-9_.~-]+$")]
# A 6-digit TOTP code, or a recovery code (`xxxxx-xxxxx`); spaces are tolerated.
Code = Annotated[str, Field(min_length=6, max_length=32, pattern=r"^[A-Za-z0-9 -]+$")]
EnrolmentToken = Annotated[str, Field(min_length=1, max_length=400, pattern=r"^[A-Za-z0-9_=-]+$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- REST bodies


class MfaAnswer(_Body):
    """`POST /api/v1/sessions/mfa`: the challenge and a TOTP or recovery code."""

    challenge_id: ChallengeId
    code: Code


class ChallengeRef(_Body):
    challenge_id: ChallengeId


class TotpConfirmation(_Body):
    """The enrolment token `TotpEnrolment` gave, and the first code the app shows."""

    enrolment_token: EnrolmentToken
    code: Code


class TotpConfirmationAtSignIn(TotpConfirmation):
    challenge_id: ChallengeId


# ---------------------------------------------------------------- results


class TotpEnrolment(BaseModel):
    """The new TOTP seed, shown once to its owner (base32 and as an otpauth URI for a
    QR code). `enrolment_token` carries it sealed to identity until the first code."""

    secret: str
    otpauth_uri: str
    enrolment_token: str


class TotpEnrolled(BaseModel):
    """TOTP is on: the ten recovery codes, shown this once. At sign-in also the tokens."""

    recovery_codes: list[str]
    tokens: SessionTokens | None = None


class Factor(BaseModel):
    factor: SecondFactorKind
    added_at: datetime


class Factors(BaseModel):
    items: list[Factor]
    recovery_codes_left: int
    required: bool = Field(description="The account's role needs a second factor")


# ---------------------------------------------------------------- commands


class CompleteSignIn(_IdentityCommand[SessionTokens], MfaAnswer):
    verb: ClassVar[str] = "complete_sign_in"

    client_address: ClientAddress


class EnrolTotpAtSignIn(_IdentityCommand[TotpEnrolment], ChallengeRef):
    verb: ClassVar[str] = "enrol_totp_at_sign_in"


class ConfirmTotpAtSignIn(_IdentityCommand[TotpEnrolled], TotpConfirmationAtSignIn):
    verb: ClassVar[str] = "confirm_totp_at_sign_in"

    client_address: ClientAddress


class StartTotpEnrolment(_CallerCommand[TotpEnrolment]):
    verb: ClassVar[str] = "start_totp_enrolment"


class ConfirmTotpEnrolment(_CallerCommand[TotpEnrolled], TotpConfirmation):
    verb: ClassVar[str] = "confirm_totp_enrolment"

    client_address: ClientAddress


class GetFactors(_CallerQuery[Factors]):
    verb: ClassVar[str] = "factors"


class RemoveFactor(_CallerCommand[Factors]):
    verb: ClassVar[str] = "remove_factor"

    factor: SecondFactorKind


# ---------------------------------------------------------------- events


class _FactorChange(_MailedToOwner):
    """Whose account changed and which factor: mailed to its owner."""

    factor: SecondFactorKind


class SecondFactorAdded(_FactorChange):
    """A second factor was added to the account; its owner is told by mail."""

    added_at: datetime


class SecondFactorRemoved(_FactorChange):
    """A second factor was removed; its owner is told by mail."""

    removed_at: datetime
