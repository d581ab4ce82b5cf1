"""Tickets service configuration (DESIGN.md §5)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from helpdesk.contracts.attachments import DEFAULT_TICKET_MAX_BYTES
from helpdesk.servicekit.access_tokens import VerifyingKeyPem
from helpdesk.servicekit.settings import PersonalDataSettings


class Settings(PersonalDataSettings):
    # PEM of identity's Ed25519 public key: every command names its actor, and
    # the caller's access token (sent with the command) must prove it.
    jwt_public_key: VerifyingKeyPem
    # HELPDESK_ROUTING_POLICY: a YAML file replacing the shipped routing.yaml.
    routing_policy: Path | None = None
    # How often the SLA monitor looks for deadlines that passed (seconds).
    sla_monitor_interval: float = Field(default=5.0, gt=0)
    # What the attachments of one ticket may total (docs/attachments.md).
    attachment_ticket_max_bytes: int = Field(default=DEFAULT_TICKET_MAX_BYTES, gt=0)
    # The end of a ticket (docs/workspace.md): its requester may reopen it this many
    # calendar days after its resolution (fractions allowed: the end-to-end tests use
    # seconds); a resolved ticket closes by itself after this many business days.
    reopen_days: float = Field(default=14, ge=0, le=3650)
    auto_close_days: float = Field(default=7, gt=0, le=3650)
    # Retention (docs/privacy.md): a ticket closed this many days ago loses its texts
    # and files (its figures stay); the job runs every `retention_interval_seconds`.
    retention_closed_days: float = Field(default=730, gt=0, le=36500)
    retention_interval_seconds: float = Field(default=3600, gt=0)
