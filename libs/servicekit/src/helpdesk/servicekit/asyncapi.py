"""AsyncAPI documents of the services, generated from their FastStream apps.

`python -m helpdesk.servicekit.asyncapi DIR` writes `DIR/<service>.json`: the
commands, queries and event consumers each service's `build` registers, plus
the integration events it publishes (from the contracts, with their JSON
Schemas). Nothing is connected: handlers are registered on a broker that
never starts.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI
from pydantic import SecretStr

from helpdesk.contracts.envelope import snake_case
from helpdesk.contracts.schemas import load_all_contracts
from helpdesk.servicekit.runtime import ServiceContext, register_admin_handlers
from helpdesk.servicekit.settings import ServiceSettings

# Where each service's composition root (`build`) lives.
BUILDERS = {
    "identity": "helpdesk.identity.service",
    "tickets": "helpdesk.tickets.app",
    "notifier": "helpdesk.notifier.app",
}

# Subjects whose last token varies with the event (see the contracts).
_SUBJECT_SUFFIX = {"TicketSubmitted": ".{priority}", "TicketPriorityChanged": ".{priority}"}


def _event_subject(event_cls: Any) -> str:
    last = getattr(event_cls, "verb", None) or snake_case(event_cls.event_type)
    suffix = _SUBJECT_SUFFIX.get(event_cls.event_type, "")
    return f"{event_cls.producer}.events.{event_cls.aggregate}.{last}{suffix}"


def _throwaway_signing_key() -> str:
    """Identity's build needs a key to construct its token issuer; none signs here."""
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        .decode()
    )


async def _describe(service: str) -> dict[str, Any]:
    settings_cls = cast(
        type[ServiceSettings], importlib.import_module(f"helpdesk.{service}.settings").Settings
    )
    build = cast(
        Callable[[ServiceContext[Any]], Awaitable[None] | None],
        importlib.import_module(BUILDERS[service]).build,
    )

    broker = NatsBroker(logger=None)
    ctx: ServiceContext[Any] = ServiceContext(
        name=service,
        settings=settings_cls.model_construct(jwt_private_key=SecretStr(_throwaway_signing_key())),
        pool=cast(Any, None),
        broker=broker,
        nats=cast(Any, None),
        js=cast(Any, None),
    )
    built = build(ctx)
    if built is not None:
        await built
    register_admin_handlers(ctx)
    for event_cls in load_all_contracts().values():
        if event_cls.producer == service:
            broker.publisher(
                _event_subject(event_cls),
                title=event_cls.event_type,
                description=(event_cls.__doc__ or "").strip() or None,
                schema=event_cls,
            )
    for task in asyncio.all_tasks() - {asyncio.current_task()}:
        task.cancel()  # background loops a build may start (never run here)
    spec = AsyncAPI(broker, title=f"helpdesk {service}", version="1.0.0")
    return cast(dict[str, Any], json.loads(spec.to_specification().to_json()))


def describe(service: str) -> dict[str, Any]:
    return asyncio.run(_describe(service))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m helpdesk.servicekit.asyncapi DIR", file=sys.stderr)
        return 2
    directory = Path(argv[1])
    directory.mkdir(parents=True, exist_ok=True)
    for service in BUILDERS:
        path = directory / f"{service}.json"
        path.write_text(
            json.dumps(describe(service), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        )
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
