"""`helpdesk`: the operator CLI. It talks to the services over NATS
(HELPDESK_NATS_URL) as the `operator` identity (HELPDESK_NATS_CREDS, the
operator's NKEY seed file), the same commands the gateway sends.

    helpdesk create-user --name "Ada Admin" --username ada --email ada@example.com --role admin
    helpdesk grant-role ada agent
    helpdesk dead-letters notifier
    helpdesk redrive notifier 7
    helpdesk rebuild-projections tickets
    helpdesk privacy-migrate tickets     # seal personal data stored before it was sealed
    helpdesk directory-sync      # LDAP / AD: deactivate the departed, update the rest
    helpdesk assignment-replay --policy least_open --since 2026-10-01 [--queue service-desk]
    helpdesk erase-user maria --reason "asked by letter, ref. 2026-114"   # cannot be undone

and creates and rotates the NATS keys of every identity (no NATS needed):

    helpdesk nats-keys create var/nats-keys
    helpdesk nats-keys render var/nats-keys > auth.conf
    helpdesk nats-keys rotate var/nats-keys gateway
    helpdesk nats-keys retire var/nats-keys gateway

and the notifier's sealing key pair (mail tokens travel sealed to it):

    helpdesk seal-keys create var/keys    # notifier-seal.key (private, 0600) + .pub
    helpdesk seal-keys rotate var/keys    # new pair; the old private key -> .previous.key
    helpdesk seal-keys retire var/keys    # forget the previous private key

and the key that wraps the keys of personal data (docs/privacy.md):

    helpdesk privacy-kek                  # a new HELPDESK_PRIVACY_KEK value
    helpdesk privacy-kek --keep "$OLD"    # a new current key, the old ones kept after it
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from pathlib import Path
from typing import TypeVar

import nats
import nats.errors
from pydantic import BaseModel, ValidationError

from helpdesk.cli import replay
from helpdesk.contracts import admin, agents, identity, organisation, people, privacy
from helpdesk.contracts.actors import Role
from helpdesk.contracts.messages import Request
from helpdesk.contracts.replies import Refused
from helpdesk.servicekit import nats_auth, sealing
from helpdesk.servicekit.privacy import KeyEncryptionKeys
from helpdesk.servicekit.requests import Unanswered, ask_raw, result_of
from helpdesk.servicekit.settings import ConfigurationError, NatsClientSettings, read_settings

ResultT = TypeVar("ResultT", bound=BaseModel)

SERVICES = ("identity", "tickets", "notifier", "mailgate")


class CliError(Exception):
    """Printed as one line; exit status 1."""


class _Refusals:
    """Connection errors are reported once, as a CliError; a permissions
    violation (a key other than the operator's) ends the wait for a reply."""

    def __init__(self) -> None:
        self.refused = asyncio.Event()
        self.reason = ""

    async def report(self, exc: Exception) -> None:
        if "permissions violation" in str(exc).lower():
            self.reason = str(exc).removeprefix("nats: ")
            self.refused.set()


async def call(payload: Request[ResultT], service: str | None = None) -> ResultT:
    """Send a command to the service its contract names (admin ones: to `service`)."""
    subject = payload.nats_subject(service)
    try:
        settings = read_settings(NatsClientSettings)
    except ConfigurationError as exc:
        raise CliError(f"configuration error: {exc}") from None
    url = settings.nats_url
    refusals = _Refusals()
    try:
        nc = await nats.connect(
            url,
            connect_timeout=3,
            allow_reconnect=False,
            max_reconnect_attempts=1,
            error_cb=refusals.report,
            name="helpdesk-cli",
            **settings.nats_options("operator"),
        )
    except nats.errors.Error as exc:
        if "authorization" in str(exc).lower():
            raise CliError(
                f"NATS at {url} refused the operator key in HELPDESK_NATS_CREDS"
            ) from None
        raise CliError(f"cannot reach NATS at {url} (set HELPDESK_NATS_URL)") from None
    except Exception:
        raise CliError(f"cannot reach NATS at {url} (set HELPDESK_NATS_URL)") from None
    request = asyncio.ensure_future(ask_raw(nc, subject, payload, within=30))
    refused = asyncio.ensure_future(refusals.refused.wait())
    try:
        await asyncio.wait({request, refused}, return_when=asyncio.FIRST_COMPLETED)
        if not request.done():
            request.cancel()
            raise CliError(
                f"NATS refused: {refusals.reason} (is HELPDESK_NATS_CREDS the operator's key?)"
            )
        data = request.result()
    except Unanswered as exc:
        if exc.why == "no_responders":
            raise CliError(f"no service answers {subject}: is it running?") from None
        if exc.why == "timeout":
            raise CliError(f"{subject} timed out") from None
        raise CliError(f"NATS failed: {exc}") from None
    finally:
        refused.cancel()
        await nc.close()
    try:
        return result_of(payload, data)
    except Refused as refusal:
        error = refusal.error
        details = "; ".join(f"{e.field}: {e.message}" for e in error.field_errors)
        raise CliError(
            f"{error.code}: {error.message}" + (f" ({details})" if details else "")
        ) from None


def _invalid(exc: ValidationError) -> CliError:
    """The contract's refusal of the input: its first field error, in one line."""
    first = exc.errors()[0]
    return CliError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}")


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
        raise _invalid(exc) from None
    created = await call(command)
    return f"created {created.username} ({created.user_id}) with roles {', '.join(created.roles)}"


async def grant_role(args: argparse.Namespace) -> str:
    granted = await call(identity.GrantRole(username=args.username, role=Role(args.role)))
    return f"{granted.username} now has roles {', '.join(granted.roles)}"


async def queues(args: argparse.Namespace) -> str:
    """List the queues, or set one's members (`--set` with usernames; none empties it)."""
    if args.set is None:
        found = await call(agents.OperatorListQueues())
        items = found.items
    elif args.queue is None:
        raise CliError("name the queue whose members --set sets")
    else:
        items = [await call(agents.OperatorSetQueueMembers(queue=args.queue, usernames=args.set))]
    return "\n".join(
        f"{q.queue}\t{q.assignment}\t"
        + (", ".join(m.username or str(m.user_id) for m in q.members) or "-")
        for q in items
        if args.queue in (None, q.queue)
    )


async def assignment_replay(args: argparse.Namespace) -> str:
    try:
        since = replay.since_of(args.since)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    query = agents.OperatorReplayAssignment(policy=args.policy, since=since, queue=args.queue)
    return replay.table(await call(query))


async def user_status(args: argparse.Namespace) -> str:
    active = args.command == "reactivate-user"
    changed = await call(people.OperatorSetStatus(username=args.username, active=active))
    return f"{changed.username}: {changed.status} ({changed.sessions_ended} sessions ended)"


async def set_roles(args: argparse.Namespace) -> str:
    roles = [Role(r) for r in args.roles]
    changed = await call(people.OperatorSetRoles(username=args.username, roles=roles))
    return f"{changed.username} now has roles {', '.join(changed.roles)}"


async def erase_user(args: argparse.Namespace) -> str:
    """Destroy the person's key: every service then scrubs them (docs/privacy.md)."""
    try:
        command = privacy.OperatorEraseUser(username=args.username, reason=args.reason)
    except ValidationError as exc:
        raise _invalid(exc) from None
    erased = await call(command)
    return f"erased {args.username} ({erased.user_id}) at {erased.erased_at.isoformat()}"


async def directory_sync(args: argparse.Namespace) -> str:
    done = await call(organisation.SyncDirectory())
    return (
        f"{done.people} people in the directory, {done.accounts} of their accounts here: "
        f"{done.deactivated} deactivated, {done.reactivated} reactivated, {done.updated} updated"
    )


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


async def privacy_migrate(args: argparse.Namespace) -> str:
    resealed = await call(admin.ResealEvents(), args.service)
    return f"{args.service}: {resealed.events} events resealed ({resealed.values} values)"


async def nats_keys(args: argparse.Namespace) -> str:
    """Seeds stay in the directory (mode 0600); only public keys are printed."""
    directory: Path = args.directory
    try:
        if args.action == "create":
            paths = nats_auth.ensure_seeds(directory)
            return "\n".join(
                f"{name}\t{nats_auth.public_key(nats_auth.read_seed(path))}\t{path}"
                for name, path in paths.items()
            )
        if args.action == "render":
            return nats_auth.render_authorization(nats_auth.users_in(directory)).rstrip("\n")
        if not args.identity or args.identity not in nats_auth.IDENTITIES:
            raise CliError(f"name an identity: {', '.join(nats_auth.IDENTITIES)}")
        if args.action == "rotate":
            path = nats_auth.rotate(directory, args.identity)
            public = nats_auth.public_key(nats_auth.read_seed(path))
            return f"{args.identity}: new key {public} in {path}; the previous one stays valid"
        if nats_auth.retire(directory, args.identity):
            return f"{args.identity}: previous key removed; render and reload the server config"
        return f"{args.identity}: no previous key to retire"
    except ValueError as exc:
        raise CliError(str(exc)) from None


async def seal_keys(args: argparse.Namespace) -> str:
    """The private key stays in the directory (mode 0600); only the public key is printed."""
    directory: Path = args.directory
    private = directory / sealing.PRIVATE_FILE
    try:
        if args.action == "create":
            _, created = sealing.create(directory)
            verb = "created" if created else "kept"
        elif args.action == "rotate":
            sealing.rotate(directory)
            verb = f"rotated; the old private key stays in {sealing.PREVIOUS_FILE} until retired"
        elif sealing.retire(directory):
            return "previous private key removed: mails sealed to it no longer open"
        else:
            return "no previous private key to retire"
    except ValueError as exc:
        raise CliError(str(exc)) from None
    public = sealing.public_of(private.read_text())
    return (
        f"{verb}: HELPDESK_NOTIFIER_SEAL_PUBLIC_KEY={public}\n"
        f"private key (HELPDESK_NOTIFIER_SEAL_PRIVATE_KEY, notifier only): {private}"
    )


async def privacy_kek(args: argparse.Namespace) -> str:
    """A new key first, then the ones kept so that keys wrapped by them still open."""
    kept = args.keep or ""
    try:
        if kept:
            KeyEncryptionKeys.parse(kept)
    except ValueError as exc:
        raise CliError(f"--keep: {exc}") from None
    return ",".join(part for part in (KeyEncryptionKeys.generate(), kept) if part)


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

    p = sub.add_parser("queues", help="list the queues and members, or set a queue's members")
    p.add_argument("queue", nargs="?")
    p.add_argument("--set", nargs="*", metavar="USERNAME", help="the queue's agents, all of them")
    p.set_defaults(run=queues)

    p = sub.add_parser(
        "assignment-replay",
        help="replay the tickets since a day through a queue policy (changes nothing)",
    )
    p.add_argument("--policy", required=True, choices=["least_open", "round_robin"])
    p.add_argument("--since", required=True, help="a day (2026-10-01, Athens) or an ISO time")
    p.add_argument("--queue", help="only this queue's tickets (default: every queue)")
    p.set_defaults(run=assignment_replay)

    for name in ("deactivate-user", "reactivate-user"):
        p = sub.add_parser(name, help=f"{name.split('-')[0]} an account (sessions end)")
        p.add_argument("username")
        p.set_defaults(run=user_status)

    p = sub.add_parser("set-roles", help="set all of a user's roles (grant and revoke)")
    p.add_argument("username")
    p.add_argument("roles", nargs="+", choices=[r.value for r in Role])
    p.set_defaults(run=set_roles)

    p = sub.add_parser(
        "erase-user",
        help="erase a person: their key is destroyed and every service scrubs them (no undo)",
    )
    p.add_argument("username")
    p.add_argument(
        "--reason", required=True, help="why, kept as the erasure's record: name nobody in it"
    )
    p.set_defaults(run=erase_user)

    p = sub.add_parser(
        "directory-sync",
        help="sync accounts with the LDAP / AD directory now (deactivate the departed)",
    )
    p.set_defaults(run=directory_sync)

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

    p = sub.add_parser(
        "privacy-migrate",
        help="seal the personal data a service's events stored in the clear (docs/privacy.md)",
    )
    p.add_argument("service", choices=["identity", "tickets"])
    p.set_defaults(run=privacy_migrate)

    p = sub.add_parser(
        "nats-keys",
        help="create, render, rotate or retire the NATS keys of every identity (docs/security.md)",
    )
    p.add_argument(
        "action",
        choices=["create", "render", "rotate", "retire"],
        help="create missing seeds | print the nats-server authorization block | "
        "replace an identity's seed, keeping the old one valid | forget the old one",
    )
    p.add_argument("directory", type=Path, help="where the seeds (<identity>.nk) live")
    p.add_argument("identity", nargs="?", help="for rotate and retire")
    p.set_defaults(run=nats_keys)

    p = sub.add_parser(
        "seal-keys",
        help="create, rotate or retire the notifier's sealing key pair (docs/security.md)",
    )
    p.add_argument(
        "action",
        choices=["create", "rotate", "retire"],
        help="create a pair unless one exists | a new pair, keeping the old private key "
        "as the previous one | forget the previous private key",
    )
    p.add_argument("directory", type=Path, help=f"where {sealing.PRIVATE_FILE} lives")
    p.set_defaults(run=seal_keys)

    p = sub.add_parser(
        "privacy-kek",
        help="print a new HELPDESK_PRIVACY_KEK: the key wrapping personal data's keys "
        "(docs/privacy.md)",
    )
    p.add_argument(
        "--keep", metavar="CURRENT", help="today's value: kept after the new key, for a rotation"
    )
    p.set_defaults(run=privacy_kek)
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
