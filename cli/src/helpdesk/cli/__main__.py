"""`helpdesk`: the operator CLI. It talks to the services over NATS
(HELPDESK_NATS_URL), the same commands the gateway sends.

    helpdesk create-user --name "Ada Admin" --username ada --email ada@example.com --role admin
    helpdesk grant-role ada agent
    helpdesk dead-letters notifier
    helpdesk redrive notifier 7
    helpdesk rebuild-projections tickets
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from typing import TypeVar

import nats
import nats.errors
from pydantic import BaseModel, ValidationError

from helpdesk.contracts import admin, identity
from helpdesk.contracts.actors import Role
from helpdesk.contracts.messages import Request
from helpdesk.contracts.replies import Reply

ResultT = TypeVar("ResultT", bound=BaseModel)

SERVICES = ("identity", "tickets", "notifier")


class CliError(Exception):
    """Printed as one line; exit status 1."""


async def _quiet(_: Exception) -> None:
    """Connection errors are reported once, as a CliError."""


async def call(payload: Request[ResultT], service: str | None = None) -> ResultT:
    """Send a command to the service its contract names (admin ones: to `service`)."""
    subject = payload.nats_subject(service)
    result_type = payload.result_type()
    url = os.environ.get("HELPDESK_NATS_URL", "nats://127.0.0.1:4222")
    try:
        nc = await nats.connect(
            url, connect_timeout=3, allow_reconnect=False, max_reconnect_attempts=1, error_cb=_quiet
        )
    except Exception:
        raise CliError(f"cannot reach NATS at {url} (set HELPDESK_NATS_URL)") from None
    try:
        msg = await nc.request(subject, payload.model_dump_json().encode(), timeout=30)
    except nats.errors.NoRespondersError:
        raise CliError(f"no service answers {subject}: is it running?") from None
    except nats.errors.TimeoutError:
        raise CliError(f"{subject} timed out") from None
    finally:
        await nc.close()
    reply = Reply[result_type].model_validate_json(msg.data)  # type: ignore[valid-type]
    if not reply.ok or reply.result is None:
        assert reply.error is not None
        details = "; ".join(f"{e.field}: {e.message}" for e in reply.error.field_errors)
        raise CliError(
            f"{reply.error.code}: {reply.error.message}" + (f" ({details})" if details else "")
        )
    return reply.result  # type: ignore[no-any-return]


async def create_user(args: argparse.Namespace) -> str:
    password = os.environ.get("HELPDESK_NEW_PASSWORD") or getpass.getpass("Password: ")
    try:
        command = identity.CreateUser(
            name=args.name,
            username=args.username,
            email=args.email,
            password=password,
            roles=[Role(r) for r in args.role] or [Role.CUSTOMER],
            locale=args.locale,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CliError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    created = await call(command)
    return f"created {created.username} ({created.user_id}) with roles {', '.join(created.roles)}"


async def grant_role(args: argparse.Namespace) -> str:
    granted = await call(identity.GrantRole(username=args.username, role=Role(args.role)))
    return f"{granted.username} now has roles {', '.join(granted.roles)}"


async def dead_letters(args: argparse.Namespace) -> str:
    found = await call(admin.ListDeadLetters(), args.service)
    if not found.items:
        return f"{args.service}: no dead letters"
    return "\n".join(
        f"{d.id}\t{d.consumer}\t{d.subject}\t{d.event_id}\t{d.deliveries} deliveries\t"
        f"{d.dead_at}\t{d.error}"
        for d in found.items
    )


async def redrive(args: argparse.Namespace) -> str:
    await call(admin.RedriveDeadLetter(id=args.id), args.service)
    return f"dead letter {args.id} re-driven"


async def rebuild_projections(args: argparse.Namespace) -> str:
    rebuilt = await call(admin.RebuildProjections(), args.service)
    if not rebuilt.events:
        return f"{args.service} has no projections"
    return "\n".join(f"{name}: {count} events replayed" for name, count in rebuilt.events.items())


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="helpdesk", description="Helpdesk operator commands.")
    sub = root.add_subparsers(dest="command", required=True)

    p = sub.add_parser("create-user", help="create an active user (e.g. the first admin)")
    p.add_argument("--name", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--email", required=True)
    p.add_argument("--role", action="append", default=[], choices=[r.value for r in Role])
    p.add_argument("--locale", default="el", choices=["el", "en"])
    p.set_defaults(run=create_user)

    p = sub.add_parser("grant-role", help="give a user a role")
    p.add_argument("username")
    p.add_argument("role", choices=[r.value for r in Role])
    p.set_defaults(run=grant_role)

    p = sub.add_parser("dead-letters", help="list a service's dead-lettered messages")
    p.add_argument("service", choices=SERVICES)
    p.set_defaults(run=dead_letters)

    p = sub.add_parser("redrive", help="run a dead-lettered message through its handler again")
    p.add_argument("service", choices=SERVICES)
    p.add_argument("id", type=int)
    p.set_defaults(run=redrive)

    p = sub.add_parser(
        "rebuild-projections", help="rebuild a service's read models from its events"
    )
    p.add_argument("service", choices=SERVICES)
    p.set_defaults(run=rebuild_projections)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        print(asyncio.run(args.run(args)))
    except CliError as exc:
        print(f"helpdesk: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
