"""Accounts from the organisation: LDAP / Active Directory sign-in, joining a
local account, and the directory sync (docs/sso.md).

A directory username and password go through the ordinary `Login`
(`POST /api/v1/sessions`). When the organisation vouches for a person whose
e-mail address a local account already has, the answer is an `MfaChallenge`
with status `link_required`: `LinkAccount` proves the local password once and
joins the two. The sync (`helpdesk directory-sync`, and identity's own
periodic job) deactivates, reactivates and updates accounts as the directory
says, each change an event with its `reason`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from helpdesk.contracts.factors import ChallengeId
from helpdesk.contracts.identity import (
    SERVICE,
    AccountSource,
    Locale,
    OwnText,
    Password,
    SignIn,
    _AddressedCommand,
    _IdentityCommand,
    _IdentityQuery,
    _UserEvent,
)
from helpdesk.contracts.messages import AdminRequest
from helpdesk.contracts.text import SINGLE_LINE


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LinkAnswer(_Body):
    """`POST /api/v1/sessions/link`: the `link_required` challenge and the local
    account's own password."""

    challenge_id: ChallengeId
    password: Password


class LinkAccount(_AddressedCommand[SignIn], LinkAnswer):
    verb: ClassVar[str] = "link_account"


# ---------------------------------------------------------------- OpenID Connect

# The flow the browser holds between the redirect and the callback (sealed by identity).
Flow = Annotated[str, Field(min_length=1, max_length=2000, pattern=r"^[A-Za-z0-9_=-]+$")]
# What the provider's redirect back carries: opaque to us, bounded.
Opaque = Annotated[str, Field(min_length=1, max_length=2000), SINGLE_LINE]


class OidcSignInStarted(BaseModel):
    authorization_url: str
    flow: str = Field(description="Sealed; give it back with the callback's code and state")
    expires_in: int


class StartOidcSignIn(_IdentityCommand[OidcSignInStarted]):
    """The gateway's "Sign in with your organisation": where to send the browser."""

    verb: ClassVar[str] = "start_oidc_sign_in"

    redirect_uri: Annotated[str, Field(max_length=500, pattern=r"^https?://[^\s]+$")]
    locale: Locale = "el"


class CompleteOidcSignIn(_AddressedCommand[SignIn]):
    """The callback: the provider's code, state and (RFC 9207) issuer, with the flow."""

    verb: ClassVar[str] = "complete_oidc_sign_in"

    flow: Flow
    code: Opaque
    state: Opaque
    iss: Opaque | None = None


# ---------------------------------------------------------------- SAML 2.0


class SamlSignInStarted(BaseModel):
    redirect_url: str  # the IdP's single sign-on URL with the signed-ID AuthnRequest


class StartSamlSignIn(_IdentityCommand[SamlSignInStarted]):
    verb: ClassVar[str] = "start_saml_sign_in"

    locale: Locale = "el"


class CompleteSamlSignIn(_AddressedCommand[SignIn]):
    """What the IdP posted to the assertion consumer service."""

    verb: ClassVar[str] = "complete_saml_sign_in"

    saml_response: Annotated[str, Field(min_length=1, max_length=200_000)]
    relay_state: Annotated[str, Field(max_length=80)] = ""


class SamlMetadata(BaseModel):
    xml: str


class GetSamlMetadata(_IdentityQuery[SamlMetadata]):
    """The service provider's metadata, for the IdP's administrators."""

    verb: ClassVar[str] = "saml_metadata"


class DirectorySynced(BaseModel):
    """What one directory sync did."""

    people: int  # found in the directory
    accounts: int  # of the directory's, here
    deactivated: int
    reactivated: int
    updated: int  # name, address or roles


class SyncDirectory(AdminRequest[DirectorySynced]):
    """The CLI's `helpdesk directory-sync` (the operator's identity only)."""

    service: ClassVar[str | None] = SERVICE
    verb: ClassVar[str] = "directory.sync"


class UserProfileChanged(_UserEvent):
    """The organisation's directory has a new name or e-mail address for the person."""

    schema_version: ClassVar[int] = 2  # the personal fields sealed

    user_id: UUID
    username: OwnText
    name: OwnText
    email: OwnText
    locale: Locale
    source: AccountSource
    reason: str  # "directory_sync", "sign_in"
    changed_at: datetime
