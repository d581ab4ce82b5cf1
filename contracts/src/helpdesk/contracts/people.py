"""Contracts of people administration in identity: list users, set roles,
deactivate and reactivate accounts (docs/assignment.md, "Admins manage people").

The commands the gateway sends carry an admin `actor` (proven by the kit
against the caller's token; identity refuses any other with 403). The
`Operator…` twins are for the `helpdesk` CLI on `identity.admin.users.*`,
which only the operator identity may publish.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from helpdesk.contracts.actors import Role
from helpdesk.contracts.identity import (
    SERVICE,
    OwnText,
    Username,
    _CallerCommand,
    _CallerQuery,
    _UserEvent,
)
from helpdesk.contracts.messages import AdminRequest

AccountStatus = Literal["pending_activation", "active", "deactivated"]


class UserSummary(BaseModel):
    user_id: UUID
    name: str
    username: str
    email: str
    roles: list[Role]
    status: str  # pending_activation, active, deactivated (and others identity may add)
    factors: list[str] = []  # second factors: "totp", "passkey"
    source: str = "local"  # or the organisation's "ldap", "oidc", "saml"


class UserList(BaseModel):
    items: list[UserSummary]


class UserStatusChanged(BaseModel):
    """The account after an admin's change; `sessions_ended` counts revoked sessions."""

    user_id: UUID
    username: str
    status: str
    roles: list[Role]
    sessions_ended: int = 0


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleSet(_Body):
    """The user's roles, all of them (at least one)."""

    roles: Annotated[list[Role], Field(min_length=1, max_length=3)]


class ListUsers(_CallerQuery[UserList]):
    """Admins only. `q` matches the start of a username, name or e-mail (any case)."""

    verb: ClassVar[str] = "list_users"

    q: Annotated[str | None, Field(max_length=100)] = None
    limit: Annotated[int, Field(ge=1, le=200)] = 100


class SetRoles(_CallerCommand[UserStatusChanged], RoleSet):
    verb: ClassVar[str] = "set_roles"

    user_id: UUID


class DeactivateUser(_CallerCommand[UserStatusChanged]):
    """Ends every session of the user; the tickets service returns their open tickets."""

    verb: ClassVar[str] = "deactivate_user"

    user_id: UUID


class ReactivateUser(_CallerCommand[UserStatusChanged]):
    verb: ClassVar[str] = "reactivate_user"

    user_id: UUID


class OperatorSetStatus(AdminRequest[UserStatusChanged]):
    """The CLI's `helpdesk deactivate-user` / `reactivate-user`."""

    service: ClassVar[str | None] = SERVICE
    verb: ClassVar[str] = "users.set_status"

    username: Username
    active: bool


class OperatorSetRoles(AdminRequest[UserStatusChanged], RoleSet):
    """The CLI's `helpdesk set-roles` (grant and revoke)."""

    service: ClassVar[str | None] = SERVICE
    verb: ClassVar[str] = "users.set_roles"

    username: Username


class UserDeactivated(_UserEvent):
    """The account can no longer log in; its sessions ended."""

    schema_version: ClassVar[int] = 2  # the username sealed

    user_id: UUID
    username: OwnText
    by: UUID | None = None  # the admin; None for the operator
    deactivated_at: datetime
    # Why, when no admin decided: "removed_from_directory" (the directory sync).
    reason: str | None = None


class UserReactivated(_UserEvent):
    schema_version: ClassVar[int] = 2  # the username sealed

    user_id: UUID
    username: OwnText
    by: UUID | None = None
    reactivated_at: datetime
    reason: str | None = None  # "back_in_directory" (the directory sync)
