"""Identity configuration (DESIGN.md §5), every field from `HELPDESK_<NAME>`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from cryptography import x509
from pydantic import Field, SecretStr, field_validator

from helpdesk.contracts.actors import Role
from helpdesk.servicekit.sealing import SealPublicKey
from helpdesk.servicekit.settings import CommaSeparated, PersonalDataSettings, SemicolonSeparated


class Settings(PersonalDataSettings):
    # PEM of the Ed25519 private key that signs access tokens (only identity has it).
    jwt_private_key: SecretStr = Field(min_length=1)
    # The notifier's public sealing key: activation and reset tokens leave identity only
    # sealed to it (docs/security.md, "Where secrets live"); identity cannot open them.
    notifier_seal_public_key: SealPublicKey
    access_token_minutes: int = 15
    refresh_token_days: int = 14
    activation_token_hours: int = 48
    reset_token_minutes: int = 60
    # argon2id cost; lowering it is for tests only. A change rehashes on next login.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    # Rate limits: at most `*_limit` events per `*_window_minutes` (docs/security.md).
    # Login failures: per (account, client address) pair, and per address over all accounts.
    login_account_limit: int = 5
    login_address_limit: int = 20
    login_window_minutes: int = 15
    # Account-wide, over every address: past this many failures in a day each further
    # attempt waits twice as long as the one before (1 s, 2 s, ...), at most the cap.
    # Slows guessing down without locking the owner out; a password reset lifts it.
    login_slowdown_after: int = 10
    login_max_delay_seconds: int = 300
    # Concurrent refreshes with the same refresh token within this many seconds get
    # the same new pair (two tabs, a double click) instead of revoking the session.
    refresh_grace_seconds: int = 10
    # The "someone tried to register with your address" mail: at most this many per hour.
    owner_notice_limit: int = 1
    recovery_limit: int = 3
    recovery_window_minutes: int = 60
    registration_address_limit: int = 20
    registration_window_minutes: int = 60
    # Recovery requests take at least this long, whether the address exists or not.
    recovery_min_seconds: float = 0.3
    # Roles whose local accounts must have a second factor (comma-separated); an
    # account with such a role enrols one at its next sign-in before any page.
    # Set but empty: no role is forced (docs/sso.md).
    mfa_required_roles: CommaSeparated = ("agent", "admin")
    # How long the second step of a sign-in (code or enrolment) may take.
    mfa_challenge_minutes: int = 10
    # Retention (docs/privacy.md): an account never activated is erased after this
    # many days; the job runs every `retention_interval_seconds`.
    retention_unactivated_days: float = Field(30, gt=0, le=3650)
    retention_interval_seconds: float = Field(3600, gt=0)

    # Who may make an account with the register form (docs/sso.md): "open" (anyone,
    # the seed's flow), "domains" (addresses in `registration_domains` only), or
    # "closed" (nobody: accounts come from the organisation's directory only).
    registration: Literal["open", "domains", "closed"] = "open"
    registration_domains: CommaSeparated = ()  # e.g. "example.gr,uni.gr"

    # LDAP / Active Directory (docs/sso.md, "LDAP / Active Directory"). An empty URL:
    # no directory. ldaps://, or ldap:// and then StartTLS is required; the server's
    # certificate is verified (against `ldap_ca_file`, else the system's CAs). The
    # service account finds the person, their own bind checks the password; the DNs
    # of their groups (";"-separated lists) give their roles.
    ldap_url: str = ""
    ldap_ca_file: str = ""
    ldap_bind_dn: str = ""
    ldap_bind_password: SecretStr = SecretStr("")
    ldap_base_dn: str = ""
    # `{username}` is replaced by the typed username, escaped (RFC 4515).
    ldap_user_filter: str = "(&(objectClass=inetOrgPerson)(uid={username}))"
    ldap_username_attribute: str = "uid"
    ldap_name_attribute: str = "cn"
    ldap_email_attribute: str = "mail"
    # What stays the same when a person is renamed or moved: OpenLDAP's entryUUID,
    # Active Directory's objectGUID.
    ldap_id_attribute: str = "entryUUID"
    ldap_group_base_dn: str = ""
    ldap_group_filter: str = "(&(objectClass=groupOfNames)(member={dn}))"
    ldap_agent_groups: SemicolonSeparated = ()
    ldap_admin_groups: SemicolonSeparated = ()
    ldap_timeout_seconds: float = 5.0
    # The periodic directory sync (also `helpdesk directory-sync`); 0: only by hand.
    ldap_sync_minutes: int = 60

    # OpenID Connect (docs/sso.md, "OpenID Connect"). An empty issuer: no OIDC. The
    # issuer's discovery document gives the endpoints and the JWKS (re-read when a
    # token names a key it does not have); authorization code + PKCE, state, nonce.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    oidc_scopes: str = "openid email profile"
    # The claim that lists the person's groups (or roles), and which of its values
    # make an agent / an admin (comma-separated, any case). Empty: roles stay local.
    oidc_role_claim: str = "groups"
    oidc_agent_groups: CommaSeparated = ()
    oidc_admin_groups: CommaSeparated = ()
    # The ID token's signature algorithms accepted (never "none", never an HMAC one).
    oidc_algorithms: CommaSeparated = ("RS256", "PS256", "ES256", "EdDSA")
    oidc_clock_skew_seconds: int = 60
    oidc_timeout_seconds: float = 10.0

    # SAML 2.0 (docs/sso.md, "SAML"). An empty metadata URL: no SAML. The helpdesk is
    # the service provider `{public_url}/helpdesk/saml/metadata` (its metadata there),
    # its assertion consumer service `{public_url}/helpdesk/saml/acs`. Signed
    # assertions only, with the IdP's certificate from its metadata.
    public_url: str = "http://127.0.0.1:8080"
    saml_idp_metadata_url: str = ""
    # When the metadata is a federation's aggregate: which IdP of it.
    saml_idp_entity_id: str = ""
    # A PEM certificate (a file): set, the metadata is used only when signed as a
    # whole by its key and not expired (a federation signs its aggregate; docs/sso.md).
    saml_idp_metadata_cert: str = ""
    saml_id_attribute: str = "eduPersonPrincipalName"
    saml_username_attribute: str = "uid"
    saml_name_attribute: str = "displayName"
    saml_email_attribute: str = "mail"
    saml_role_attribute: str = "eduPersonEntitlement"
    saml_agent_groups: CommaSeparated = ()
    saml_admin_groups: CommaSeparated = ()
    saml_clock_skew_seconds: int = 60
    saml_timeout_seconds: float = 10.0
    saml_xmlsec_binary: str = "/usr/bin/xmlsec1"

    # Passkeys (docs/sso.md, "Passkeys"): the relying party ID (a domain, never an IP
    # address) and the origins a browser may sign for, comma-separated. Empty: the
    # host and the origin of HELPDESK_PUBLIC_URL.
    webauthn_rp_id: str = ""
    webauthn_origins: CommaSeparated = ()

    @field_validator("oidc_algorithms")
    @classmethod
    def _asymmetric_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        refused = {a for a in value if a.lower() == "none" or a.upper().startswith("HS")}
        if refused or not value:
            raise ValueError(f"asymmetric signature algorithms only (not {sorted(refused)})")
        return value

    @field_validator("ldap_url")
    @classmethod
    def _tls_only(cls, value: str) -> str:
        if value and not value.startswith(("ldaps://", "ldap://")):
            raise ValueError("use ldaps://host or ldap://host (then StartTLS is required)")
        return value

    @field_validator("saml_idp_metadata_cert")
    @classmethod
    def _a_certificate(cls, value: str) -> str:
        if value:
            try:
                x509.load_pem_x509_certificate(Path(value).read_bytes())
            except (OSError, ValueError):
                raise ValueError("must be the path of a PEM certificate") from None
        return value

    @field_validator("mfa_required_roles")
    @classmethod
    def _known_roles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(value) - {r.value for r in Role}
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}; use {[r.value for r in Role]}")
        return value

    @property
    def mfa_roles(self) -> frozenset[str]:
        return frozenset(self.mfa_required_roles)

    @property
    def registration_domain_set(self) -> frozenset[str]:
        return frozenset(d.lower().lstrip("@") for d in self.registration_domains)

    @property
    def directory_configured(self) -> bool:
        return bool(self.ldap_url)

    @property
    def oidc_configured(self) -> bool:
        return bool(self.oidc_issuer)

    @property
    def saml_configured(self) -> bool:
        return bool(self.saml_idp_metadata_url)

    @property
    def saml_sp_entity_id(self) -> str:
        return f"{self.public_url.rstrip('/')}/helpdesk/saml/metadata"

    @property
    def saml_acs_url(self) -> str:
        return f"{self.public_url.rstrip('/')}/helpdesk/saml/acs"
