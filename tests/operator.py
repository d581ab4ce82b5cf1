"""What the operator does over NATS (as `helpdesk create-user` does), for
tests and benchmarks that need accounts without the self-registration mail."""

from __future__ import annotations

import nats

from helpdesk.contracts.actors import Role
from helpdesk.contracts.identity import CreateUser, UserCreated
from helpdesk.servicekit.requests import ask
from tests.servers import Servers

PASSWORD = "correct horse battery staple"


async def create_user(
    servers: Servers,
    username: str,
    *,
    role: Role = Role.CUSTOMER,
    name: str | None = None,
    email: str | None = None,
    password: str = PASSWORD,
    locale: str = "en",
    nats_url: str | None = None,
) -> UserCreated:
    """An active account made with the operator's NATS identity; raises the
    service's refusal (`Refused`) if it is not made. `nats_url` is for a system
    with a NATS server of its own (the benchmarks')."""
    return (
        await create_users(
            servers,
            [
                CreateUser(
                    name=name or username,
                    username=username,
                    email=email or f"{username}@example.com",
                    password=password,
                    roles=[role],
                    locale=locale,
                )
            ],
            nats_url=nats_url,
        )
    )[0]


async def create_users(
    servers: Servers, commands: list[CreateUser], *, nats_url: str | None = None
) -> list[UserCreated]:
    """Several accounts over one connection."""
    nc = await nats.connect(nats_url or servers.nats_url, **servers.nats_options("operator"))
    try:
        return [await ask(nc, command, within=15) for command in commands]
    finally:
        await nc.close()
