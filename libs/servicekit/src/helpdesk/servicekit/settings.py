"""Configuration from the environment (DESIGN.md §5), read with pydantic-settings."""

from __future__ import annotations

import sys
from typing import Literal, TypeVar

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

SettingsT = TypeVar("SettingsT", bound="ServiceSettings")


class ServiceSettings(BaseSettings):
    """What every service reads. Services subclass it with their own fields."""

    model_config = SettingsConfigDict(env_prefix="HELPDESK_", extra="ignore")

    nats_url: str = "nats://127.0.0.1:4222"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/helpdesk"
    http_port: int = 8080
    log_format: Literal["json", "console"] = "json"
    # R3 on a 3-node JetStream cluster in production; 1 on a single dev server.
    nats_stream_replicas: int = 1
    # Reconnect to NATS forever (-1), waiting this long between rounds of
    # attempts: an outage of any length delays work, never ends the service.
    nats_reconnect_wait: float = Field(2.0, gt=0, le=60)
    nats_max_reconnect_attempts: int = Field(-1, ge=-1)


def load_settings(settings_cls: type[SettingsT]) -> SettingsT:
    """Read settings or stop the process with one line naming the bad variable."""
    try:
        return settings_cls()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "HELPDESK_" + "_".join(str(part) for part in first["loc"]).upper()
        print(f"configuration error: {name}: {first['msg']}", file=sys.stderr)
        raise SystemExit(2) from None
