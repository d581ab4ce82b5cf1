"""The configuration deployments carry passes the services' own settings classes:
the compose file's environment and every rendered overlay's ConfigMaps and env
values, read the way the service reads them. An address the product refuses
(`oncall@helpdesk.localhost`, a special-use name) kept the compose notifier in a
restart loop; it fails here instead. Values held in Secrets are not in the
repository and are left out; a missing one is test_env_coverage's concern."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from tests.deploy.manifests import DEPLOY, OVERLAYS, SERVICES, Doc, find, render, settings_class

pytestmark = pytest.mark.deploy

COMPOSE = DEPLOY / "compose" / "compose.yaml"


def compose_values(service: dict[str, Any], base: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    env_files = service.get("env_file", [])
    for entry in [env_files] if isinstance(env_files, str) else env_files:
        path = base / (entry if isinstance(entry, str) else entry["path"])
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                name, _, value = line.partition("=")
                values[name.strip()] = value.strip()
    environment = service.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    values.update({name: str(value) for name, value in environment.items()})
    return values


def with_compose_secrets(values: dict[str, str], compose: dict[str, Any]) -> dict[str, str]:
    """/run/secrets/NAME is where compose mounts secret NAME: point at its file here."""
    secrets = compose.get("secrets", {})
    resolved = {}
    for name, value in values.items():
        secret = secrets.get(value.removeprefix("/run/secrets/"), {})
        if value.startswith("/run/secrets/") and "file" in secret:
            value = str((COMPOSE.parent / secret["file"]).resolve())
        resolved[name] = value
    return resolved


def kubernetes_values(docs: tuple[Doc, ...], pod: Doc, container: Doc) -> dict[str, str]:
    """The container's ConfigMap and literal values; paths into a mounted Secret
    (not in the repository) are left out."""
    secret_volumes = {v["name"] for v in pod.get("volumes", []) if "secret" in v}
    secret_paths = [
        m["mountPath"] for m in container.get("volumeMounts", []) if m["name"] in secret_volumes
    ]
    values: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            values.update(find(docs, "ConfigMap", source["configMapRef"]["name"]).get("data", {}))
    for entry in container.get("env", []):
        if "value" in entry:
            values[entry["name"]] = str(entry["value"])
    return {
        name: value
        for name, value in values.items()
        if not any(value.startswith(path) for path in secret_paths)
    }


def refusals(service: str, values: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the service's settings class refuses of `values` (missing fields aside)."""
    import os

    for name in [n for n in os.environ if n.startswith("HELPDESK_")]:
        monkeypatch.delenv(name)
    for name, value in values.items():
        if not name.endswith("_FILE"):  # a Secret's file, read by the image's entry point
            monkeypatch.setenv(name, value)
    try:
        settings_class(service)()
    except ValidationError as error:
        return [
            f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}"
            for e in error.errors()
            if e["type"] != "missing"
        ]
    return []


@pytest.mark.parametrize("service", SERVICES)
def test_compose_configuration_passes_the_services_settings(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    values = with_compose_secrets(
        compose_values(compose["services"][service], COMPOSE.parent), compose
    )
    assert refusals(service, values, monkeypatch) == []


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_overlay_configuration_passes_the_services_settings(
    overlay: str, service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = render(overlay)
    pod = find(docs, "Deployment", f"helpdesk-{service}")["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == service)
    assert refusals(service, kubernetes_values(docs, pod, container), monkeypatch) == []


def test_a_refused_value_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself sees the address that broke the compose notifier."""
    found = refusals(
        "notifier", {"HELPDESK_ONCALL_EMAIL": "oncall@helpdesk.localhost"}, monkeypatch
    )
    assert len(found) == 1
    assert found[0].startswith("ONCALL_EMAIL")
