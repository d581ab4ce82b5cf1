"""LDAP / Active Directory (python-ldap): check a password by a bind, read a
person's name, address, lasting id and groups (docs/sso.md, "LDAP / Active
Directory").

Rules, in order:
1. Never in the clear: `ldaps://`, or `ldap://` with StartTLS; the server's
   certificate is verified (HELPDESK_LDAP_CA_FILE, else the system's CAs).
2. An empty password is refused before anything is sent: an LDAP server takes
   a simple bind with a DN and no password as an *unauthenticated* bind, which
   "succeeds" (RFC 4513 §5.1.2).
3. The username goes into the search filter escaped (RFC 4515): `*)(uid=*` is
   looked up literally and finds nobody.
4. The person is found with the service account, and exactly one entry must
   match; their password is then checked by binding as that entry, on a
   connection of its own.
python-ldap blocks, so every call runs in a worker thread. Neither password is
ever logged; errors are logged by their type only.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import ldap
from ldap.filter import escape_filter_chars

from helpdesk.identity.domain.errors import DirectoryUnavailable
from helpdesk.identity.domain.organisation import OrganisationPerson
from helpdesk.identity.settings import Settings
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)


class LdapDirectory:
    def __init__(self, settings: Settings) -> None:
        self._s = settings

    async def authenticate(self, username: str, password: str) -> OrganisationPerson | None:
        if not password or not username.strip():  # rule 2
            return None
        return await asyncio.to_thread(self._authenticate, username, password)

    async def everyone(self) -> list[OrganisationPerson]:
        return await asyncio.to_thread(self._everyone)

    # ---- blocking calls (worker threads)

    def _connect(self) -> Any:
        s = self._s
        conn = ldap.initialize(s.ldap_url)
        conn.protocol_version = ldap.VERSION3
        conn.set_option(ldap.OPT_REFERRALS, 0)
        conn.set_option(ldap.OPT_NETWORK_TIMEOUT, s.ldap_timeout_seconds)
        conn.set_option(ldap.OPT_TIMEOUT, s.ldap_timeout_seconds)
        conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
        if s.ldap_ca_file:
            conn.set_option(ldap.OPT_X_TLS_CACERTFILE, s.ldap_ca_file)
        conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
        try:
            if s.ldap_url.startswith("ldap://"):
                conn.start_tls_s()  # rule 1: no StartTLS, no bind
        except ldap.LDAPError as exc:
            log.warning("directory TLS failed", error=type(exc).__name__)
            raise DirectoryUnavailable("the directory cannot be reached securely") from None
        return conn

    def _service(self) -> Any:
        conn = self._connect()
        try:
            conn.simple_bind_s(self._s.ldap_bind_dn, self._s.ldap_bind_password.get_secret_value())
        except ldap.LDAPError as exc:
            log.warning("directory service bind failed", error=type(exc).__name__)
            raise DirectoryUnavailable("the directory refused the helpdesk's account") from None
        return conn

    def _search(self, conn: Any, filter_: str) -> list[tuple[str, OrganisationPerson]]:
        """(DN, person) of every entry `filter_` finds that has a username, an
        address and a lasting id."""
        s = self._s
        attrs = [
            s.ldap_username_attribute,
            s.ldap_name_attribute,
            s.ldap_email_attribute,
            s.ldap_id_attribute,
        ]
        try:
            found = conn.search_s(s.ldap_base_dn, ldap.SCOPE_SUBTREE, filter_, attrs)
        except ldap.LDAPError as exc:
            log.warning("directory search failed", error=type(exc).__name__)
            raise DirectoryUnavailable("the directory search failed") from None
        people = []
        for dn, entry in found:
            if dn is None:  # a search reference
                continue
            entry = {k.lower(): v for k, v in entry.items()}
            username, name, email = (_text(entry, a.lower()) for a in attrs[:3])
            external_id = _lasting_id(entry, s.ldap_id_attribute.lower())
            if username and email and external_id:
                people.append(
                    (
                        dn,
                        OrganisationPerson(
                            source="ldap",
                            external_id=external_id,
                            username=username,
                            name=name or username,
                            email=email,
                            groups=self._groups(conn, dn),
                        ),
                    )
                )
        return people

    def _groups(self, conn: Any, dn: str) -> frozenset[str]:
        s = self._s
        if not s.ldap_group_base_dn:
            return frozenset()
        filter_ = s.ldap_group_filter.replace("{dn}", escape_filter_chars(dn))
        try:
            found = conn.search_s(s.ldap_group_base_dn, ldap.SCOPE_SUBTREE, filter_, ["cn"])
        except ldap.LDAPError as exc:
            log.warning("directory group search failed", error=type(exc).__name__)
            raise DirectoryUnavailable("the directory's group search failed") from None
        return frozenset(group_dn.lower() for group_dn, _ in found if group_dn)

    def _everyone(self) -> list[OrganisationPerson]:
        conn = self._service()
        try:
            filter_ = self._s.ldap_user_filter.replace("{username}", "*")
            return [person for _, person in self._search(conn, filter_)]
        finally:
            conn.unbind_s()

    def _authenticate(self, username: str, password: str) -> OrganisationPerson | None:
        filter_ = self._s.ldap_user_filter.replace("{username}", escape_filter_chars(username))
        service = self._service()
        try:
            found = self._search(service, filter_)  # rule 3
        finally:
            service.unbind_s()
        if len(found) != 1:  # rule 4: exactly one
            return None
        dn, person = found[0]
        conn = self._connect()
        try:
            conn.simple_bind_s(dn, password)
        except (ldap.INVALID_CREDENTIALS, ldap.UNWILLING_TO_PERFORM):
            return None
        except ldap.LDAPError as exc:
            log.warning("directory user bind failed", error=type(exc).__name__)
            raise DirectoryUnavailable("the directory did not check the password") from None
        finally:
            conn.unbind_s()
        return person


def _text(entry: dict[str, list[bytes]], attribute: str) -> str:
    values = entry.get(attribute) or []
    return values[0].decode("utf-8", "replace").strip() if values else ""


def _lasting_id(entry: dict[str, list[bytes]], attribute: str) -> str:
    """entryUUID is text; Active Directory's objectGUID is 16 bytes (little-endian UUID)."""
    values = entry.get(attribute) or []
    if not values:
        return ""
    raw = values[0]
    if attribute == "objectguid" and len(raw) == 16:
        return str(uuid.UUID(bytes_le=raw))
    return raw.decode("utf-8", "replace").strip().lower()
