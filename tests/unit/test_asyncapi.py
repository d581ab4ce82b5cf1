"""The AsyncAPI documents in docs/asyncapi/ describe the services as built."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpdesk.contracts.schemas import load_all_contracts
from helpdesk.servicekit.asyncapi import describe
from helpdesk.servicekit.runtime import services

DOCS = Path(__file__).resolve().parents[2] / "docs" / "asyncapi"


def addresses(document: dict[str, object]) -> set[str]:
    channels = document["channels"]
    assert isinstance(channels, dict)
    return {channel["address"] for channel in channels.values()}


@pytest.mark.parametrize("service", sorted(services()))
def test_committed_document_lists_every_channel_of_the_service(service: str) -> None:
    built = addresses(describe(service))
    committed = addresses(json.loads((DOCS / f"{service}.json").read_text()))
    assert built == committed, "run `make asyncapi` and commit docs/asyncapi/"


def test_every_published_event_is_documented_by_its_producer() -> None:
    for event_cls in load_all_contracts().values():
        document = json.loads((DOCS / f"{event_cls.producer}.json").read_text())
        titles = {
            op.get("title") for op in document["operations"].values() if isinstance(op, dict)
        } | {ch.get("title") for ch in document["channels"].values()}
        payloads = json.dumps(document)
        assert event_cls.event_type in payloads, f"{event_cls.event_type} missing ({titles})"
