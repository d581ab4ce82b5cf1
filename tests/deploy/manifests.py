"""Rendering and offline validation of deploy/ (used by the tests in this folder)."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate
import yaml
from pydantic_settings import BaseSettings

from helpdesk.servicekit.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = ("dev", "prod")
CRD_SCHEMAS = K8S / "schemas"
# The oldest Kubernetes the manifests support (preStop `sleep`, topology spread
# `matchLabelKeys`) and the newest whose schemas kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version() + ".0")
SERVICES = ("identity", "tickets", "notifier", "mailgate", "gateway")
# Services that keep an event store and run the setup init container.
STATEFUL = ("identity", "tickets", "notifier", "mailgate")

Doc = dict[str, Any]


def kubectl() -> str:
    found = shutil.which("kubectl")
    if not found:
        raise RuntimeError("kubectl not found: `make install` installs it (Debian package kubectl)")
    return found


@cache
def render(overlay: str) -> tuple[Doc, ...]:
    """`kubectl kustomize` of an overlay, as a tuple of documents."""
    out = subprocess.run(
        [kubectl(), "kustomize", str(K8S / "overlays" / overlay)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return tuple(doc for doc in yaml.safe_load_all(out) if doc)


def find(docs: tuple[Doc, ...], kind: str, name: str) -> Doc:
    for doc in docs:
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise LookupError(f"no {kind} {name}")


@cache
def crd_schema(api_version: str, kind: str) -> Doc | None:
    group, _, version = api_version.rpartition("/")
    path = CRD_SCHEMAS / f"{kind.lower()}-{group}-{version}.json"
    if not group or not path.exists():
        return None
    schema: Doc = json.loads(path.read_text(encoding="utf-8"))
    return schema


def validation_errors(doc: Doc, version: str) -> list[str]:
    """Everything wrong with one manifest; an unknown kind is an error too."""
    where = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    schema = crd_schema(doc["apiVersion"], doc["kind"])
    if schema is not None:
        validator = jsonschema.Draft202012Validator(schema)
        return [
            f"{where}: {'.'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(doc)
        ]
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{where}: {'.'.join(map(str, exc.path))}: {exc.message} (k8s {version})"]
    except kubernetes_validate.SchemaNotFoundError:
        return [
            f"{where}: no schema for {doc['apiVersion']} {doc['kind']}; vendor one in {CRD_SCHEMAS}"
        ]
    return []


def settings_class(service: str) -> type[BaseSettings]:
    """The service's Settings, or the kit's base class while the module does not exist."""
    name = f"helpdesk.{service}.settings"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return ServiceSettings
    cls: type[BaseSettings] = module.Settings
    return cls


def env_names(cls: type[BaseSettings]) -> set[str]:
    """The environment variables a pydantic-settings class reads, one per field."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias or field.alias
        if isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names
