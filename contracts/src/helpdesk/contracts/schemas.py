"""JSON Schemas of the published event contracts, and the compatibility rule.

`python -m helpdesk.contracts.schemas export DIR` writes one file per event
type and schema version (`UserRegistered.v1.json`). A published file is never
rewritten by hand: a change that removes or retypes a field, or adds a
required one, needs a new `schema_version`, hence a new file.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path
from typing import Any

import helpdesk.contracts
from helpdesk.contracts.envelope import EventData, EventEnvelope


def load_all_contracts() -> dict[str, type[EventData]]:
    """Import every module of the package so every event type is registered."""
    for module in pkgutil.iter_modules(helpdesk.contracts.__path__):
        importlib.import_module(f"helpdesk.contracts.{module.name}")
    # Only the package's own contracts: tests define throwaway event types too.
    return {
        name: cls
        for name, cls in EventData.registry.items()
        if cls.__module__.startswith("helpdesk.contracts.")
    }


def schema_file_name(event_cls: type[EventData]) -> str:
    return f"{event_cls.event_type}.v{event_cls.schema_version}.json"


def current_schemas() -> dict[str, dict[str, Any]]:
    schemas: dict[str, dict[str, Any]] = {
        "EventEnvelope.v1.json": EventEnvelope.model_json_schema(),
    }
    for event_cls in load_all_contracts().values():
        schemas[schema_file_name(event_cls)] = event_cls.model_json_schema()
    return schemas


def _field_shape(schema: dict[str, Any], root: dict[str, Any]) -> Any:
    """What a field's type is, with `$ref`s resolved, ignoring titles and descriptions."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _field_shape(root.get("$defs", {}).get(name, {}), root)
    ignored = {"title", "description", "default", "examples"}
    shape: dict[str, Any] = {}
    for key, value in sorted(schema.items()):
        if key in ignored:
            continue
        if isinstance(value, dict):
            shape[key] = (
                {k: _field_shape(v, root) for k, v in value.items()}
                if key == "properties"
                else _field_shape(value, root)
            )
        elif isinstance(value, list):
            shape[key] = [_field_shape(v, root) if isinstance(v, dict) else v for v in value]
        else:
            shape[key] = value
    return shape


def _readable(old: Any, new: Any) -> bool:
    """Whether a consumer of the resolved shape `old` reads values of the shape `new`:
    the same, or an object that only gained optional properties (at any depth)."""
    if isinstance(old, dict) and isinstance(new, dict):
        if "properties" in old and "properties" in new:
            if set(new.get("required", [])) - set(old.get("required", [])):
                return False
            gained = new["properties"]
            if any(
                k not in gained or not _readable(v, gained[k]) for k, v in old["properties"].items()
            ):
                return False
            rest = {"properties", "required"}
            return {k: v for k, v in old.items() if k not in rest} == {
                k: v for k, v in new.items() if k not in rest
            }
        return old.keys() == new.keys() and all(_readable(old[k], new[k]) for k in old)
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(_readable(a, b) for a, b in zip(old, new, strict=True))
    return bool(old == new)


def incompatibilities(published: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Why `current` cannot be read by consumers of `published` (empty if it can).
    A nested object that only gained optional fields stays readable."""
    problems: list[str] = []
    old_props: dict[str, Any] = published.get("properties", {})
    new_props: dict[str, Any] = current.get("properties", {})
    for name, old in old_props.items():
        if name not in new_props:
            problems.append(f"field {name!r} was removed")
        elif not _readable(_field_shape(old, published), _field_shape(new_props[name], current)):
            problems.append(f"field {name!r} changed type")
    added_required = set(current.get("required", [])) - set(published.get("required", []))
    for name in sorted(added_required):
        problems.append(f"field {name!r} became required")
    return problems


def export(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in current_schemas().items():
        path = directory / name
        if path.exists():
            problems = incompatibilities(json.loads(path.read_text()), schema)
            if problems:
                raise SystemExit(
                    f"{name} is published and the change is incompatible "
                    f"({'; '.join(problems)}): bump schema_version instead"
                )
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] != "export":
        print("usage: python -m helpdesk.contracts.schemas export DIR", file=sys.stderr)
        return 2
    for path in export(Path(argv[2])):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
