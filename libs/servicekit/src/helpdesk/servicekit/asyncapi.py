"""AsyncAPI documents of the services, generated from their FastStream apps.

`python -m helpdesk.servicekit.asyncapi DIR` writes `DIR/<service>.json` for
every installed service (`runtime.services()`): the commands, queries and
event consumers its `build` registers, plus the integration events it
publishes (from the contracts, with their JSON Schemas). Nothing is
connected: handlers are registered on a broker that never starts.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI
from pydantic import SecretStr

from helpdesk.contracts.actors import AccessTokenClaims
from helpdesk.contracts.replies import Refused
from helpdesk.contracts.schemas import load_all_contracts
from helpdesk.servicekit import sealing
from helpdesk.servicekit.runtime import ServiceContext, register_admin_handlers, services


def _throwaway_signing_key() -> str:
    """Identity's build needs a key to construct its token issuer; none signs here."""
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        .decode()
    )


def _no_caller(token: str) -> AccessTokenClaims:
    """Nothing is served while describing: no token is ever checked."""
    raise Refused("not serving", code="unavailable")


async def _describe(name: str) -> dict[str, Any]:
    service = services()[name]
    broker = NatsBroker(logger=None)
    throwaway_seal = sealing.generate()
    ctx: ServiceContext[Any] = ServiceContext(
        name=name,
        settings=service.settings.model_construct(
            jwt_private_key=SecretStr(_throwaway_signing_key()),
            notifier_seal_public_key=throwaway_seal[1],
            notifier_seal_private_key=SecretStr(throwaway_seal[0]),
        ),
        pool=cast(Any, None),
        broker=broker,
        nats=cast(Any, None),
        js=cast(Any, None),
        verify_token=_no_caller,
    )
    built = service.build(ctx)
    if built is not None:
        await built
    register_admin_handlers(ctx)
    for event_cls in load_all_contracts().values():
        if event_cls.producer == name:
            broker.publisher(
                event_cls.subject_filter(),
                title=event_cls.event_type,
                description=(event_cls.__doc__ or "").strip() or None,
                schema=event_cls,
            )
    for task in asyncio.all_tasks() - {asyncio.current_task()}:
        task.cancel()  # background loops a build may start (never run here)
    spec = AsyncAPI(broker, title=f"helpdesk {name}", version="1.0.0")
    return cast(dict[str, Any], json.loads(spec.to_specification().to_json()))


def describe(name: str) -> dict[str, Any]:
    return asyncio.run(_describe(name))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m helpdesk.servicekit.asyncapi DIR", file=sys.stderr)
        return 2
    directory = Path(argv[1])
    directory.mkdir(parents=True, exist_ok=True)
    for name in services():
        path = directory / f"{name}.json"
        path.write_text(
            json.dumps(describe(name), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        )
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
