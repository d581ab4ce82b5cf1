"""deploy/compose: valid against the Compose Specification, health-checked, wired."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from tests.deploy.manifests import REPO, SERVICES
from tests.deploy.test_env_coverage import COMPOSE

pytestmark = pytest.mark.deploy


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def test_compose_file_matches_the_compose_specification() -> None:
    # The Compose Specification's schema, as vendored by check-jsonschema (offline).
    schema_file = files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    errors = [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(compose())
    ]
    assert not errors, "\n".join(errors)


def test_every_container_has_a_health_check_and_waits_for_its_dependencies() -> None:
    services = compose()["services"]
    assert {"nats", "postgres", "mailpit", *SERVICES} <= set(services)
    assert "--jetstream" in services["nats"]["command"]
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services
            assert condition == {"condition": "service_healthy"}, f"{name} -> {dependency}"
    for name in SERVICES:
        assert services[name]["command"] == [name]
        assert services[name]["build"]["dockerfile"] == "deploy/docker/Dockerfile"
        assert (COMPOSE.parent / services[name]["build"]["context"]).resolve() == REPO
        assert services[name]["read_only"] is True


def test_secret_files_exist() -> None:
    for name, secret in compose()["secrets"].items():
        assert (COMPOSE.parent / secret["file"]).is_file(), name
