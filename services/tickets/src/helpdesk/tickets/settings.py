"""Tickets service configuration (DESIGN.md §5)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from helpdesk.servicekit.settings import ServiceSettings


class Settings(ServiceSettings):
    # HELPDESK_ROUTING_POLICY: a YAML file replacing the shipped routing.yaml.
    routing_policy: Path | None = None
    # How often the SLA monitor looks for deadlines that passed (seconds).
    sla_monitor_interval: float = Field(default=5.0, gt=0)
