"""Identity configuration (DESIGN.md §5), every field from `HELPDESK_<NAME>`."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from helpdesk.contracts.actors import Role
from helpdesk.servicekit.sealing import SealPublicKey
from helpdesk.servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
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
    mfa_required_roles: str = "agent,admin"
    # How long the second step of a sign-in (code or enrolment) may take.
    mfa_challenge_minutes: int = 10

    @field_validator("mfa_required_roles")
    @classmethod
    def _known_roles(cls, value: str) -> str:
        unknown = {r.strip() for r in value.split(",") if r.strip()} - {r.value for r in Role}
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}; use {[r.value for r in Role]}")
        return value

    @property
    def mfa_roles(self) -> frozenset[str]:
        return frozenset(r.strip() for r in self.mfa_required_roles.split(",") if r.strip())
