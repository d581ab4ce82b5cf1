"""Who is asking: the gateway passes the verified caller with every command."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    ADMIN = "admin"


class Actor(BaseModel):
    """The authenticated caller, taken from a verified access token."""

    model_config = ConfigDict(frozen=True)

    user_id: UUID
    roles: list[Role]
    session_id: str | None = None

    @property
    def is_agent(self) -> bool:
        return Role.AGENT in self.roles or Role.ADMIN in self.roles


class AccessTokenClaims(BaseModel):
    """Claims of the EdDSA-signed access JWT issued by identity, checked by the gateway."""

    # Frozen: verified claims are kept per token and shared (servicekit.access_tokens).
    model_config = ConfigDict(frozen=True)

    sub: str  # the user id
    roles: list[Role]
    sid: str  # the session id
    name: str
    locale: str
    iat: int
    exp: int
    iss: str = "helpdesk-identity"
    # The account's credentials version when the token was minted: a password reset
    # raises it, and the gateway refuses tokens of an older one (docs/accounts.md).
    cv: int = 0
