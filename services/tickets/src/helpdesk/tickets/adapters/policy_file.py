"""Reading the routing policy: the shipped `routing.yaml` or the operator's file."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import yaml

from helpdesk.tickets.domain.routing import PolicyError, RoutingPolicy

DEFAULT_POLICY = "routing.yaml"


def load_policy(path: Path | None = None) -> RoutingPolicy:
    """The policy in `path`, or the one shipped with the service."""
    try:
        if path is None:
            text = files("helpdesk.tickets").joinpath(DEFAULT_POLICY).read_text(encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        raw = yaml.safe_load(text)
        policy = RoutingPolicy.model_validate(raw)
        policy.business_calendar  # noqa: B018 - fail at start on a bad calendar
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise PolicyError(f"routing policy {path or DEFAULT_POLICY}: {exc}") from exc
    return policy
