"""Identity's LDAP adapter bound to one of the tests' directory servers (a slapd,
a Samba AD): each server says how to bind to it (`connection()`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from helpdesk.identity.adapters.directory import LdapDirectory
from helpdesk.identity.settings import Settings
from tests.tokens import seal_public_key


def ldap_directory(connection: Mapping[str, str], **overrides: Any) -> LdapDirectory:
    """The adapter with `connection` and `overrides` (any of identity's settings);
    the JWT key is required but not used by it."""
    values: dict[str, Any] = {
        "jwt_private_key": "unused",
        "notifier_seal_public_key": seal_public_key(),
        **connection,
        **overrides,
    }
    return LdapDirectory(Settings(**values))
