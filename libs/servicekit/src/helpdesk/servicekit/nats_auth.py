"""NATS identities and permissions (DESIGN.md §3a).

Every process kind connects to NATS as its own user, authenticated by an NKEY
(an Ed25519 key pair: the process holds the seed, the server knows only the
public key), and may publish and subscribe only the subjects listed here. This
module is the single source of that policy: it creates the seeds and renders
the `authorization { users = [...] }` block of the nats-server configuration
for `make run`, the tests, compose and Kubernetes (`helpdesk nats-keys`).

Seeds live one per file, `<identity>.nk`, mode 0600. During a rotation the
replaced seed is kept as `<identity>.previous.nk`, and the server accepts both
keys until it is retired (docs/operations.md, "Rotating the NATS keys").
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import nacl.signing  # type: ignore[import-untyped]
import nkeys  # type: ignore[import-untyped]

from helpdesk.contracts import identity as identity_contract
from helpdesk.contracts import subjects
from helpdesk.contracts import tickets as tickets_contract
from helpdesk.servicekit import blobs

SEED_SUFFIX = ".nk"
PREVIOUS_SUFFIX = ".previous.nk"
_IDENTITY_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")


def inbox_prefix(identity: str) -> str:
    """Each identity receives replies under its own prefix, so no other process
    may subscribe to them (a reply can carry access tokens)."""
    return f"_INBOX.{identity}"


@dataclass(frozen=True)
class Permissions:
    """What one identity may do on the bus; anything not allowed is refused."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    publish_deny: tuple[str, ...] = ()
    # Reply once to the reply subject of a request it received (request-reply serving).
    allow_responses: bool = False


def _declare_streams() -> list[str]:
    # Every service declares every stream at start (runtime.ensure_stream), so a
    # consumer can bind whichever starts first. Create, update and inspect only:
    # nobody may delete or purge a stream or its messages.
    return [
        f"$JS.API.STREAM.{verb}.{stream}"
        for stream in subjects.STREAMS
        for verb in ("CREATE", "UPDATE", "INFO")
    ]


def _consume(stream: str) -> list[str]:
    """Durable pull consumers on one stream: create, inspect, pull, acknowledge."""
    return [
        f"$JS.API.CONSUMER.CREATE.{stream}",
        f"$JS.API.CONSUMER.CREATE.{stream}.>",
        f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.>",
        f"$JS.API.CONSUMER.INFO.{stream}.>",
        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.>",
        f"$JS.ACK.{stream}.>",
    ]


# Who has a ticket open (the gateway's presence bucket, gateway/presence.py): declare
# it, read a key (direct or stream get) and write one (compare-and-set on `$KV.`).
PRESENCE_RULES = (
    "$JS.API.STREAM.CREATE.KV_presence",
    "$JS.API.STREAM.INFO.KV_presence",
    "$JS.API.STREAM.MSG.GET.KV_presence",
    "$JS.API.DIRECT.GET.KV_presence",
    "$JS.API.DIRECT.GET.KV_presence.>",
    "$KV.presence.>",
)


def follow_rules(stream: str) -> list[str]:
    """An ephemeral pull consumer without acknowledgements on one stream: the
    gateway's live feed of ticket changes (issue 29, gateway/stream.py)."""
    return [
        f"$JS.API.CONSUMER.CREATE.{stream}",
        f"$JS.API.CONSUMER.CREATE.{stream}.>",
        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.>",
    ]


def attachment_rules(*, write: bool = False, erase: bool = False) -> list[str]:
    """The attachments bucket (docs/attachments.md): declare and read it (direct get,
    no consumers); `write` adds storing objects, `erase` deleting them (purge)."""
    stream = blobs.stream_of(blobs.BUCKET)
    rules = [f"$JS.API.STREAM.{verb}.{stream}" for verb in ("CREATE", "UPDATE", "INFO")]
    rules += [f"$JS.API.DIRECT.GET.{stream}", f"$JS.API.DIRECT.GET.{stream}.>"]
    if write or erase:
        rules.append(f"$O.{blobs.BUCKET}.M.>")  # meta messages: a new object, a deletion
    if write:
        rules.append(f"$O.{blobs.BUCKET}.C.>")  # chunks
    if erase:
        rules.append(f"$JS.API.STREAM.PURGE.{stream}")
    return rules


def _stream_of(service: str) -> str | None:
    prefix = f"{service}.events."
    return next((s for s, subj in subjects.STREAMS.items() if subj.startswith(prefix)), None)


def service_permissions(
    service: str, consumes: Sequence[str] = (), extra: Sequence[str] = ()
) -> Permissions:
    """A service: serves its commands, queries, mail requests and operator commands in
    its queue group, publishes its own events (if it owns a stream), consumes
    `consumes`, and may publish the `extra` subjects (requests it sends to another
    service, `attachment_rules()`)."""
    own = _stream_of(service)
    publish = [
        "$JS.API.INFO",
        *_declare_streams(),
        *([f"{service}.events.>"] if own else []),
        *(rule for stream in consumes for rule in _consume(stream)),
        *extra,
    ]
    subscribe = [
        # "<subject> <queue>": only in the service's own queue group.
        f"{subjects.command(service, '*')} {service}",
        f"{subjects.query(service, '*')} {service}",
        f"{subjects.admin(service, '>')} {service}",
        f"{subjects.mail(service, '*')} {service}",
        f"{subjects.keys(service, '*')} {service}",
        f"{inbox_prefix(service)}.>",
    ]
    return Permissions(tuple(publish), tuple(subscribe), allow_responses=True)


# The access-token revocation list (a KV bucket, docs/accounts.md): identity declares
# and writes it, the gateway reads keys (both of a token's in one batched direct
# get, then each if one is there). Nobody deletes or purges it.
_REVOCATIONS_STREAM = f"KV_{identity_contract.REVOCATIONS_BUCKET}"
REVOCATIONS_WRITE = (
    f"$JS.API.STREAM.CREATE.{_REVOCATIONS_STREAM}",
    f"$JS.API.STREAM.INFO.{_REVOCATIONS_STREAM}",
    f"$KV.{identity_contract.REVOCATIONS_BUCKET}.>",
)
REVOCATIONS_READ = (
    f"$JS.API.STREAM.INFO.{_REVOCATIONS_STREAM}",
    f"$JS.API.DIRECT.GET.{_REVOCATIONS_STREAM}",
    f"$JS.API.DIRECT.GET.{_REVOCATIONS_STREAM}.>",
)


def _with_publish(permissions: Permissions, extra: Sequence[str]) -> Permissions:
    return Permissions(
        (*permissions.publish, *extra),
        permissions.subscribe,
        permissions.publish_deny,
        permissions.allow_responses,
    )


# The keystore's requests (contracts/privacy.py), served by identity.
KEYSTORE = subjects.keys("identity", "*")

# Commands only the operator may send: they create users and grant roles without
# an end user's session behind them.
OPERATOR_COMMANDS = (
    identity_contract.CreateUser.nats_subject(),
    identity_contract.GrantRole.nats_subject(),
)

IDENTITIES: dict[str, Permissions] = {
    "identity": _with_publish(service_permissions("identity"), REVOCATIONS_WRITE),
    # Tickets consumes its own stream too: automatic assignment, and erasing a removed
    # attachment's bytes.
    # Services that seal or open personal data ask identity's keystore for keys
    # (KEYSTORE); the gateway and the operator may not.
    "tickets": service_permissions(
        "tickets",
        consumes=["IDENTITY", "TICKETS"],
        extra=[*attachment_rules(erase=True), KEYSTORE],
    ),
    # The notifier names queues in mails as the routing policy does (the tickets
    # service's public priorities query).
    "notifier": service_permissions(
        "notifier",
        consumes=["IDENTITY", "TICKETS"],
        extra=[*attachment_rules(), KEYSTORE, tickets_contract.ListPriorities.nats_subject()],
    ),
    # The mail gateway: the tickets service's mail requests (`tickets.mail.*`), which
    # carry a sender's address instead of an access token, and the attachments bucket
    # (a mail's files are stored like the gateway's uploads); it consumes IDENTITY for
    # PersonalDataErased only (it scrubs the person's stored mails; it opens nothing).
    "mailgate": service_permissions(
        "mailgate",
        consumes=["IDENTITY"],
        extra=[subjects.mail("tickets", "*"), *attachment_rules(write=True)],
    ),
    # The gateway sends commands and queries and reads their replies, stores and
    # serves attachment bytes (streamed through it, never through a command), and
    # follows the ticket events for the live pages (one consumer per replica).
    "gateway": Permissions(
        publish=(
            *(
                pattern(service, "*")
                for service in ("identity", "tickets", "notifier")  # notifier: webhooks
                for pattern in (subjects.command, subjects.query)
            ),
            *attachment_rules(write=True),
            *REVOCATIONS_READ,
            *follow_rules("TICKETS"),
            *PRESENCE_RULES,
        ),
        publish_deny=OPERATOR_COMMANDS,
        subscribe=(f"{inbox_prefix('gateway')}.>",),
    ),
    # The `helpdesk` CLI: operator commands of every service, and creating users.
    "operator": Permissions(
        publish=(subjects.admin("*", ">"), *OPERATOR_COMMANDS),
        subscribe=(f"{inbox_prefix('operator')}.>",),
    ),
}


# ------------------------------------------------------------------ seeds


def new_seed() -> bytes:
    """A fresh NKEY user seed (`SU…`)."""
    raw = bytes(nacl.signing.SigningKey.generate())
    return bytes(nkeys.encode_seed(raw, nkeys.PREFIX_BYTE_USER))


def public_key(seed: bytes) -> str:
    """The user's public key (`U…`), which the server configuration names."""
    pair = nkeys.from_seed(bytearray(seed))
    try:
        return bytes(pair.public_key).decode()
    finally:
        pair.wipe()


def parse_seed(text: bytes) -> bytes:
    """The seed in a seed file, or ValueError saying what is wrong (never the content)."""
    seed = text.strip()
    if not seed.startswith(b"SU"):
        raise ValueError("not an NKEY user seed (one line starting with SU)")
    damaged = ValueError("not a valid NKEY user seed (damaged or truncated)")
    try:
        raw = base64.b32decode(seed + b"=" * (-len(seed) % 8))
    except binascii.Error:
        raise damaged from None
    # nkeys.from_seed does not check the checksum: a mistyped seed would be a valid,
    # different key, refused by the server with a vaguer message much later.
    if len(raw) != 36 or nkeys.crc16_checksum(raw[:-2]) != raw[-2:]:
        raise damaged
    try:
        public_key(seed)
    except Exception:
        raise damaged from None
    return seed


def read_seed(path: Path) -> bytes:
    try:
        return parse_seed(path.read_bytes())
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None


def write_seed(path: Path, seed: bytes) -> None:
    """Written 0600 from the start and renamed into place: never readable by others,
    never seen half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(seed + b"\n")
    tmp.replace(path)


def seed_path(directory: Path, identity: str) -> Path:
    return directory / f"{identity}{SEED_SUFFIX}"


def _check_identity(identity: str) -> None:
    if not _IDENTITY_NAME.fullmatch(identity):
        raise ValueError(f"not an identity name: {identity!r}")


def ensure_seeds(directory: Path, identities: Iterable[str] = IDENTITIES) -> dict[str, Path]:
    """The seed file of each identity, creating the missing ones."""
    paths: dict[str, Path] = {}
    for identity in identities:
        _check_identity(identity)
        path = seed_path(directory, identity)
        if not path.exists():
            write_seed(path, new_seed())
        paths[identity] = path
    return paths


def rotate(directory: Path, identity: str) -> Path:
    """Keep the current seed as `<identity>.previous.nk` and write a new one."""
    _check_identity(identity)
    current = seed_path(directory, identity)
    previous = directory / f"{identity}{PREVIOUS_SUFFIX}"
    if previous.exists():
        raise ValueError(
            f"{identity} is already being rotated: retire {previous.name} first "
            f"(`helpdesk nats-keys retire {directory} {identity}`)"
        )
    if current.exists():
        current.replace(previous)
    write_seed(current, new_seed())
    return current


def retire(directory: Path, identity: str) -> bool:
    """Forget the previous seed of a rotation; False if there was none."""
    _check_identity(identity)
    previous = directory / f"{identity}{PREVIOUS_SUFFIX}"
    if not previous.exists():
        return False
    previous.unlink()
    return True


@dataclass(frozen=True)
class User:
    identity: str
    public_key: str


def users_in(directory: Path) -> list[User]:
    """One user per seed file, previous seeds of a rotation included."""
    users = []
    for path in sorted(directory.glob(f"*{SEED_SUFFIX}")):
        identity = path.name.removesuffix(PREVIOUS_SUFFIX).removesuffix(SEED_SUFFIX)
        users.append(User(identity, public_key(read_seed(path))))
    return users


# ------------------------------------------------------------------ server configuration


def _block(name: str, items: Iterable[str], indent: str) -> list[str]:
    return [
        f"{indent}{name}: [",
        *(f"{indent}  {json.dumps(item)}" for item in items),
        f"{indent}]",
    ]


def render_authorization(
    users: Iterable[User], permissions: Mapping[str, Permissions] = IDENTITIES
) -> str:
    """The nats-server `authorization` block for these users (no secrets in it:
    public keys and permissions only). Anonymous connections are refused."""
    lines = [
        "# NATS users of the helpdesk: one NKEY per identity, least privilege.",
        "# Generated by `helpdesk nats-keys render` (helpdesk.servicekit.nats_auth); do not edit.",
        "authorization {",
        "  users = [",
    ]
    for user in users:
        if user.identity not in permissions:
            raise ValueError(f"no permissions defined for identity {user.identity!r}")
        if not user.public_key.startswith("U"):
            raise ValueError(f"{user.identity}: not a user public key")
        rules = permissions[user.identity]
        lines += [
            f"    # {user.identity}",
            "    {",
            f"      nkey: {user.public_key}",
            "      permissions: {",
            "        publish: {",
            *_block("allow", rules.publish, " " * 10),
            *(_block("deny", rules.publish_deny, " " * 10) if rules.publish_deny else []),
            "        }",
            "        subscribe: {",
            *_block("allow", rules.subscribe, " " * 10),
            "        }",
            *(["        allow_responses: true"] if rules.allow_responses else []),
            "      }",
            "    }",
        ]
    lines += ["  ]", "}", ""]
    return "\n".join(lines)


__all__ = [
    "IDENTITIES",
    "OPERATOR_COMMANDS",
    "Permissions",
    "User",
    "attachment_rules",
    "ensure_seeds",
    "inbox_prefix",
    "new_seed",
    "parse_seed",
    "public_key",
    "read_seed",
    "render_authorization",
    "retire",
    "rotate",
    "seed_path",
    "service_permissions",
    "users_in",
    "write_seed",
]
