"""The published event contracts and the rule that protects them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel

from helpdesk.contracts.envelope import EventData, EventEnvelope
from helpdesk.contracts.schemas import current_schemas, incompatibilities

PUBLISHED = Path(__file__).resolve().parents[2] / "contracts" / "schemas"


def test_every_published_schema_is_still_compatible() -> None:
    current = current_schemas()
    published = sorted(PUBLISHED.glob("*.json"))
    assert published, "no published schemas: run `make schemas`"
    for path in published:
        if path.name not in current:
            # An older schema version stays published (events of it may still be on a
            # stream); a newer version of the same event must exist.
            event_type, version = path.name.removesuffix(".json").rsplit(".v", 1)
            newer = [
                n for n in current if n.startswith(f"{event_type}.v") and _version(n) > int(version)
            ]
            assert newer, f"{path.name} is published but no contract produces it or a successor"
            continue
        problems = incompatibilities(json.loads(path.read_text()), current[path.name])
        assert not problems, f"{path.name}: {problems}; bump schema_version"


def _version(file_name: str) -> int:
    return int(file_name.removesuffix(".json").rsplit(".v", 1)[1])


def test_every_current_contract_is_published() -> None:
    missing = set(current_schemas()) - {p.name for p in PUBLISHED.glob("*.json")}
    assert not missing, f"run `make schemas` to publish {sorted(missing)}"


class _V1(EventData):
    producer: ClassVar[str] = "example"
    aggregate: ClassVar[str] = "thing"
    event_type: ClassVar[str] = "ThingHappened"
    name: str
    count: int
    note: str | None = None


def test_removing_retyping_or_requiring_a_field_is_incompatible() -> None:
    v1 = _V1.model_json_schema()

    class Removed(EventData):
        name: str

    class Retyped(EventData):
        name: str
        count: str
        note: str | None = None

    class NowRequired(EventData):
        name: str
        count: int
        note: str

    class Added(EventData):
        name: str
        count: int
        note: str | None = None
        extra: str = ""

    assert incompatibilities(v1, Removed.model_json_schema()) == [
        "field 'count' was removed",
        "field 'note' was removed",
    ]
    assert incompatibilities(v1, Retyped.model_json_schema()) == ["field 'count' changed type"]
    assert "field 'note' became required" in incompatibilities(v1, NowRequired.model_json_schema())
    assert incompatibilities(v1, Added.model_json_schema()) == []


class _Part(BaseModel):
    due: str | None = None


class _Whole(EventData):
    producer: ClassVar[str] = "example"
    aggregate: ClassVar[str] = "thing"
    event_type: ClassVar[str] = "WholeHappened"
    part: _Part


def test_a_nested_object_may_gain_an_optional_field_but_not_lose_or_require_one() -> None:
    v1 = _Whole.model_json_schema()

    class Gained(_Part):
        later: str | None = None

    class Required(_Part):
        later: str

    class Retyped(BaseModel):
        due: int | None = None

    class WithGained(EventData):
        part: Gained

    class WithRequired(EventData):
        part: Required

    class WithRetyped(EventData):
        part: Retyped

    assert incompatibilities(v1, WithGained.model_json_schema()) == []
    for changed in (WithRequired, WithRetyped):
        assert incompatibilities(v1, changed.model_json_schema()) == ["field 'part' changed type"]


def test_envelope_round_trips_typed_data() -> None:
    envelope = EventEnvelope.wrap(_V1(name="a", count=2), correlation_id="corr")
    again = EventEnvelope.model_validate_json(envelope.model_dump_json())
    assert again.open(_V1) == _V1(name="a", count=2)
    assert again.event_type == "ThingHappened"
    assert _V1(name="a", count=1).subject() == "example.events.thing.thing_happened"


def test_a_base_class_named_with_an_underscore_is_not_an_event_type() -> None:
    class _Base(EventData):
        producer: ClassVar[str] = "example"
        aggregate: ClassVar[str] = "thing"

    class Concrete(_Base):
        n: int

    assert "_Base" not in EventData.registry
    assert EventData.registry["Concrete"] is Concrete
    assert Concrete(n=1).subject() == "example.events.thing.concrete"
