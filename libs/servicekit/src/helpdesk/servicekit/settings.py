"""Configuration from the environment (DESIGN.md §5), read with pydantic-settings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from helpdesk.servicekit.nats_auth import inbox_prefix, read_seed
from helpdesk.servicekit.privacy import KeyEncryptionKeys, SignedTokens

SettingsT = TypeVar("SettingsT", bound="NatsClientSettings")


def _a_seed_file(path: Path) -> Path:
    read_seed(path)  # a missing or damaged seed stops the process at start, not at connect
    return path


# The path of an NKEY user seed file; the settings hold the path, never the seed.
NatsSeedFile = Annotated[Path, AfterValidator(_a_seed_file)]


def _key_encryption_keys(value: SecretStr) -> SecretStr:
    KeyEncryptionKeys.parse(value.get_secret_value())  # malformed: stop at start
    return value


# HELPDESK_PRIVACY_KEK: base64 32-byte keys, comma-separated, the first current.
PrivacyKek = Annotated[SecretStr, AfterValidator(_key_encryption_keys)]


def _split_on(separator: str) -> BeforeValidator:
    def split(value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(separator) if part.strip())
        return value

    return BeforeValidator(split)


# A list written in one variable, parsed here once: `HELPDESK_X="a, b"` -> ("a", "b"),
# blank items dropped, "" -> () (pydantic-settings would read a list as JSON).
CommaSeparated = Annotated[tuple[str, ...], NoDecode, _split_on(",")]
# The same for items that contain commas themselves (LDAP DNs).
SemicolonSeparated = Annotated[tuple[str, ...], NoDecode, _split_on(";")]


class NatsClientSettings(BaseSettings):
    """What every process that talks to NATS reads (services, gateway, CLI)."""

    model_config = SettingsConfigDict(env_prefix="HELPDESK_", extra="ignore")

    nats_url: str = "nats://127.0.0.1:4222"
    # This process's own NATS identity (DESIGN.md §3a, docs/security.md). Required by
    # load_settings; None only where a test builds settings for an app without NATS.
    nats_creds: NatsSeedFile | None = None

    def nats_options(self, identity: str) -> dict[str, Any]:
        """Connect options for nats-py / FastStream: the seed file and the reply
        inbox prefix that `identity`'s permissions allow."""
        options: dict[str, Any] = {"inbox_prefix": inbox_prefix(identity)}
        if self.nats_creds is not None:
            options["nkeys_seed"] = str(self.nats_creds)
        return options


class ServiceSettings(NatsClientSettings):
    """What every service reads. Services subclass it with their own fields."""

    database_url: str = "postgresql://postgres@127.0.0.1:5432/helpdesk"
    http_port: int = 8080
    log_format: Literal["json", "console"] = "json"
    # R3 on a 3-node JetStream cluster in production; 1 on a single dev server.
    nats_stream_replicas: int = 1
    # Reconnect to NATS forever (-1), waiting this long between rounds of
    # attempts: an outage of any length delays work, never ends the service.
    nats_reconnect_wait: float = Field(2.0, gt=0, le=60)
    nats_max_reconnect_attempts: int = Field(-1, ge=-1)


class PersonalDataSettings(ServiceSettings):
    """A service that seals or opens personal data (docs/privacy.md): identity,
    which keeps the keystore, and the services that consume its events. The
    gateway and the mailgate never open any, so they never hold the key."""

    # Wraps the keys that seal personal data (servicekit/privacy.py): required.
    privacy_kek: PrivacyKek | None = None
    # How long a key to open personal data with is kept (remote_keys.py): an
    # erasure's scrub waits this long (plus a margin) so no process still opens it.
    privacy_key_cache_seconds: float = Field(30.0, ge=0, le=300)

    def key_encryption_keys(self) -> KeyEncryptionKeys:
        if self.privacy_kek is None:
            raise ConfigurationError(
                "HELPDESK_PRIVACY_KEK: required: base64 32-byte keys, comma-separated "
                "(`helpdesk privacy-kek` makes one)"
            )
        return KeyEncryptionKeys.parse(self.privacy_kek.get_secret_value())

    def signed_tokens(self, label: bytes, *, max_chars: int) -> SignedTokens | None:
        """The signer and verifier of tokens keyed from the KEKs under `label` (one
        service signs, another verifies: the rating links); None without KEKs (tools,
        the AsyncAPI generator, some tests)."""
        if self.privacy_kek is None:
            return None
        return SignedTokens.of(self.key_encryption_keys(), label, max_chars=max_chars)


class ConfigurationError(Exception):
    """One line: `HELPDESK_X: what is wrong`."""


def read_settings(settings_cls: type[SettingsT]) -> SettingsT:
    """Read settings, or raise ConfigurationError naming the first bad variable."""
    try:
        settings = settings_cls()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "HELPDESK_" + "_".join(str(part) for part in first["loc"]).upper()
        raise ConfigurationError(f"{name}: {first['msg']}") from None
    if settings.nats_creds is None:
        raise ConfigurationError(
            "HELPDESK_NATS_CREDS: required: the path of this process's NKEY seed file"
        )
    return settings


def load_settings(settings_cls: type[SettingsT]) -> SettingsT:
    """Read settings or stop the process with one line naming the bad variable."""
    try:
        return read_settings(settings_cls)
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
