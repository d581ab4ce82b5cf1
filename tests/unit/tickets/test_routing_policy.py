"""Loading and validating the declarative routing policy."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helpdesk.contracts.priorities import Priority
from helpdesk.tickets.adapters.policy_file import load_policy
from helpdesk.tickets.domain.routing import PolicyError


def shipped() -> dict:  # type: ignore[type-arg]
    from importlib.resources import files

    return yaml.safe_load(files("helpdesk.tickets").joinpath("routing.yaml").read_text())


def write(tmp_path: Path, policy: dict) -> Path:  # type: ignore[type-arg]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    return path


def test_an_override_file_replaces_the_shipped_policy(tmp_path: Path) -> None:
    policy = shipped()
    policy["priorities"]["high"]["queue"] = "tier-2"
    policy["priorities"]["high"]["first_response"] = "1 business hour"
    loaded = load_policy(write(tmp_path, policy))
    assert loaded.route(Priority.HIGH).queue == "tier-2"
    assert loaded.targets(Priority.HIGH).first_response == 3600


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["priorities"].pop("critical"), "critical"),
        (lambda p: p["priorities"]["urgent"].update(first_response="2 business hours"), "24/7"),
        (lambda p: p["priorities"]["low"].update(resolution="10 days"), "business time"),
        (lambda p: p["priorities"]["low"].update(resolution="soon"), "not a duration"),
        (lambda p: p["business_hours"].update(timezone="Mars/Olympus"), "time zone"),
        (lambda p: p["priorities"]["low"].update(colour="red"), "colour"),
    ],
)
def test_a_bad_policy_stops_the_service_with_a_clear_message(
    tmp_path: Path,
    change,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    policy = shipped()
    change(policy)
    with pytest.raises(PolicyError, match=message):
        load_policy(write(tmp_path, policy))


def test_a_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError):
        load_policy(tmp_path / "nope.yaml")
