"""In-memory stand-ins for identity's adapters, so each use case runs in
microseconds against the same ports the PostgreSQL adapters implement.

`FakeDatabase` is what PostgreSQL would hold: the user and session streams,
the published (outbox) events and the rate-limit hits. A `FakeUnitOfWork`
works on a copy and hands it back on `commit`, so what a handler does not
commit is lost, as in a rolled-back transaction. Lookups are answered from
the streams themselves (what the projections would say).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Self, TypeVar
from uuid import UUID

from helpdesk.contracts.envelope import EventData
from helpdesk.contracts.people import UserSummary
from helpdesk.contracts.privacy import ErasureRequest
from helpdesk.contracts.text import fold
from helpdesk.identity.adapters.published import integration_events
from helpdesk.identity.adapters.ratelimits import growing_delay
from helpdesk.identity.domain.errors import (
    DirectoryUnavailable,
    EmailTaken,
    InvalidCode,
    OrganisationRefused,
    UsernameTaken,
)
from helpdesk.identity.domain.organisation import OrganisationPerson
from helpdesk.identity.domain.session import (
    Session,
    SessionEvent,
    SessionRefreshed,
    SessionStarted,
)
from helpdesk.identity.domain.user import (
    ActivationTokenIssued,
    ErasureRequested,
    PasswordResetRequested,
    ProfileSynced,
    Registered,
    Source,
    User,
    UserEvent,
)
from helpdesk.identity.handlers.deps import (
    AccessGrant,
    Limit,
    NewPasskey,
    OidcFlow,
    TokenPurpose,
    Verification,
)
from helpdesk.servicekit.clock import ManualClock
from helpdesk.servicekit.eventstore import ConcurrencyError

EventT = TypeVar("EventT", bound=EventData)


@dataclass
class Stored:
    users: dict[UUID, list[UserEvent]] = field(default_factory=dict)
    sessions: dict[UUID, list[SessionEvent]] = field(default_factory=dict)
    published: list[EventData] = field(default_factory=list)
    hits: dict[tuple[str, str], list[datetime]] = field(default_factory=dict)


class FakeDatabase:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.stored = Stored()
        self.conflicts = 0  # the next saves that find their stream moved by someone else
        self.open_units = 0

    def published(self, event_type: type[EventT]) -> list[EventT]:
        return [e for e in self.stored.published if isinstance(e, event_type)]

    def user_events(self) -> list[UserEvent]:
        return [e for stream in self.stored.users.values() for e in stream]

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)


class FakeUnitOfWork:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    async def __aenter__(self) -> Self:
        # Handlers never hold two units at once (in production: two pooled connections).
        assert self.db.open_units == 0, "a unit of work opened inside another"
        self.db.open_units += 1
        self.stored = copy.deepcopy(self.db.stored)
        self.users = FakeUsers(self)
        self.sessions = FakeSessions(self)
        self.limits = FakeRateLimits(self)
        return self

    async def commit(self) -> None:
        self.db.stored = self.stored
        self.stored = copy.deepcopy(self.db.stored)

    async def __aexit__(self, *exc_info: object) -> None:
        self.db.open_units -= 1

    def check_version(self, stream: str, stored: Sequence[object], version: int) -> None:
        if self.db.conflicts:
            self.db.conflicts -= 1
            raise ConcurrencyError(stream, version)
        if len(stored) != version:
            raise ConcurrencyError(stream, version)


class FakeUsers:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow

    @property
    def _streams(self) -> dict[UUID, list[UserEvent]]:
        return self.uow.stored.users

    async def get(self, user_id: UUID) -> User:
        return User.fold(user_id, list(self._streams.get(user_id, [])))

    async def save(
        self, user: User, events: Sequence[UserEvent], *, sealed_token: str | None = None
    ) -> None:
        if not events:
            return
        stream = self._streams.get(user.user_id, [])
        self.uow.check_version(f"user-{user.user_id}", stream, user.version)
        for event in events:  # the read model's unique keys
            if isinstance(event, Registered) and await self.id_by_username(event.username_key):
                raise UsernameTaken()
            if isinstance(event, Registered | ProfileSynced) and await self.id_by_email(
                event.email_key
            ) not in (None, user.user_id):
                raise EmailTaken()
        self._streams[user.user_id] = [*stream, *events]
        for event in events:
            user.apply(event)
        self.uow.stored.published.extend(integration_events(user, events, sealed_token))

    def _registered(self) -> list[tuple[UUID, Registered]]:
        return [
            (user_id, e)
            for user_id, stream in self._streams.items()
            for e in stream
            if isinstance(e, Registered)
        ]

    async def id_by_username(self, username_key: str) -> UUID | None:
        return next((u for u, e in self._registered() if e.username_key == username_key), None)

    async def search(self, prefix: str | None, limit: int) -> list[UserSummary]:
        wanted = fold(prefix or "")
        users = [await self.get(user_id) for user_id in self._streams]
        found = [
            UserSummary(
                user_id=u.user_id,
                name=u.name,
                username=u.username,
                email=u.email,
                roles=u.roles,
                status=u.status,
                factors=sorted(u.factors),
                source=u.source,
            )
            for u in users
            if any(fold(text).startswith(wanted) for text in (u.username, u.email, u.name))
        ]
        return sorted(found, key=lambda s: s.username.casefold())[:limit]

    async def id_by_email(self, email_key: str) -> UUID | None:
        """The address as it stands: the directory may have changed it since (ProfileSynced)."""
        for user_id, stream in self._streams.items():
            keys = [e.email_key for e in stream if isinstance(e, Registered | ProfileSynced)]
            if keys and keys[-1] == email_key:
                return user_id
        return None

    async def id_by_external(self, source: Source, external_id: str) -> UUID | None:
        return (await self.of_source(source)).get(external_id)

    async def of_source(self, source: Source) -> dict[str, UUID]:
        users = [await self.get(user_id) for user_id in self._streams]
        return {
            u.external_id: u.user_id
            for u in users
            if u.source == source and u.external_id and u.status != "cancelled"
        }

    async def unactivated_before(self, cutoff: datetime) -> list[UUID]:
        users = [await self.get(user_id) for user_id in self._streams]
        return [
            u.user_id
            for u in users
            if u.status == "pending_activation"
            and u.registered_at is not None
            and u.registered_at < cutoff
        ]

    async def publish(self, event: EventData) -> None:
        self.uow.stored.published.append(event)

    async def erasure_requests(self) -> list[ErasureRequest]:
        found = []
        for user_id, stream in self._streams.items():
            user = await self.get(user_id)
            asked = [e for e in stream if isinstance(e, ErasureRequested)]
            if asked and user.erasure_requested_at is not None:
                found.append(
                    ErasureRequest(
                        user_id=user_id,
                        name=user.name,
                        username=user.username,
                        email=user.email,
                        requested_at=asked[-1].at,
                        note=asked[-1].note,
                    )
                )
        return sorted(found, key=lambda r: (r.requested_at, r.user_id))

    async def id_by_passkey(self, credential_id: str) -> UUID | None:
        users = [await self.get(user_id) for user_id in self._streams]
        return next((u.user_id for u in users if credential_id in u.passkeys), None)

    async def id_by_token(self, token_hash: str, purpose: TokenPurpose) -> UUID | None:
        kind = ActivationTokenIssued if purpose == "activation" else PasswordResetRequested
        for user_id, stream in self._streams.items():
            if any(isinstance(e, kind) and e.token_hash == token_hash for e in stream):
                return user_id
        return None


class FakeSessions:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow

    @property
    def _streams(self) -> dict[UUID, list[SessionEvent]]:
        return self.uow.stored.sessions

    async def get(self, session_id: UUID) -> Session:
        return Session.fold(session_id, list(self._streams.get(session_id, [])))

    async def save(self, session: Session, events: Sequence[SessionEvent]) -> None:
        if not events:
            return
        stream = self._streams.get(session.session_id, [])
        self.uow.check_version(f"session-{session.session_id}", stream, session.version)
        self._streams[session.session_id] = [*stream, *events]
        for event in events:
            session.apply(event)

    async def id_by_refresh_token(self, token_hash: str) -> UUID | None:
        for session_id, stream in self._streams.items():
            for e in stream:
                if isinstance(e, SessionStarted | SessionRefreshed) and (
                    e.refresh_token_hash == token_hash
                ):
                    return session_id
        return None

    async def active_of(self, user_id: UUID) -> list[UUID]:
        sessions = [await self.get(session_id) for session_id in self._streams]
        return [s.session_id for s in sessions if s.user_id == user_id and not s.revoked]


class FakeRateLimits:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow
        self.clock = uow.db.clock

    def _recent(self, limit: Limit, key: str) -> list[datetime]:
        now = self.clock.now()
        hits = self.uow.stored.hits.get((limit.bucket, key), [])
        return sorted(at for at in hits if at > now - limit.window)

    async def retry_after(self, limit: Limit, key: str) -> int | None:
        recent = self._recent(limit, key)
        if len(recent) < limit.limit:
            return None
        freed_at = recent[len(recent) - limit.limit] + limit.window
        return max(1, math.ceil((freed_at - self.clock.now()).total_seconds()))

    async def hit(self, limit: Limit, key: str) -> None:
        self.uow.stored.hits[(limit.bucket, key)] = [*self._recent(limit, key), self.clock.now()]

    async def take(self, limit: Limit, key: str) -> int | None:
        wait = await self.retry_after(limit, key)
        if wait is None:
            await self.hit(limit, key)
        return wait

    async def clear(self, limit: Limit, key: str) -> None:
        self.uow.stored.hits.pop((limit.bucket, key), None)

    async def clear_prefix(self, limit: Limit, prefix: str) -> None:
        for bucket, key in list(self.uow.stored.hits):
            if bucket == limit.bucket and key.startswith(prefix):
                del self.uow.stored.hits[(bucket, key)]

    async def forgive(self, limit: Limit, key: str) -> None:
        hits = self.uow.stored.hits.get((limit.bucket, key), [])
        if hits:
            hits.remove(max(hits))

    async def delay(self, limit: Limit, key: str, max_seconds: int) -> int | None:
        recent = self._recent(limit, key)
        if len(recent) < limit.limit:
            return None
        wait = growing_delay(len(recent) - limit.limit, max_seconds)
        left = (recent[-1] + timedelta(seconds=wait) - self.clock.now()).total_seconds()
        return math.ceil(left) if left > 0 else None

    async def serialise(self, limit: Limit, key: str) -> None:
        pass  # one event loop, no interleaving inside a fake transaction


class FakeRevocations:
    """What the gateway would find in the revocation bucket."""

    def __init__(self) -> None:
        self.sessions: set[UUID] = set()
        self.users: dict[UUID, int] = {}

    async def revoke_session(self, session_id: UUID) -> None:
        self.sessions.add(session_id)

    async def revoke_user(self, user_id: UUID, credentials_version: int) -> None:
        self.users[user_id] = credentials_version


class FakePasswords:
    """Hashes are `<scheme>:<password>`; raising `scheme` makes old hashes need a rehash."""

    def __init__(self) -> None:
        self.scheme = "v1"

    async def hash(self, password: str) -> str:
        return f"{self.scheme}:{password}"

    async def verify(self, password_hash: str | None, password: str) -> Verification:
        if password_hash is None:
            return Verification(ok=False)
        scheme, _, hashed = password_hash.partition(":")
        if hashed != password:
            return Verification(ok=False)
        return Verification(ok=True, needs_rehash=scheme != self.scheme)


class FakeTokens:
    """Predictable tokens: `token-1`, `token-2`, …, hashed as `hash(token-1)`."""

    def __init__(self) -> None:
        self.issued: list[str] = []

    def new(self) -> str:
        self.issued.append(f"token-{len(self.issued) + 1}")
        return self.issued[-1]

    def hash(self, raw: str) -> str:
        return f"hash({raw})"

    def successor(self, raw: str) -> str:
        return f"{raw}.next"


# What a fake access token stands for.
Claims = AccessGrant


class FakeAccessTokens:
    """An access token is an index into `issued`, the claims it was issued with."""

    def __init__(self) -> None:
        self.ttl = timedelta(minutes=15)
        self.issued: list[Claims] = []

    def issue(self, grant: AccessGrant) -> str:
        self.issued.append(grant)
        return f"access-{len(self.issued) - 1}"

    def claims(self, access_token: str) -> Claims:
        return self.issued[int(access_token.removeprefix("access-"))]


class FakeDirectory:
    """The organisation's directory: people by username, with their passwords.
    `down` makes it unreachable; `asked` counts the password checks."""

    def __init__(self) -> None:
        self.people: dict[str, tuple[OrganisationPerson, str]] = {}
        self.down = False
        self.asked = 0

    def add(
        self,
        username: str,
        password: str,
        *,
        name: str = "",
        email: str = "",
        groups: frozenset[str] = frozenset(),
        external_id: str = "",
    ) -> OrganisationPerson:
        person = OrganisationPerson(
            source="ldap",
            external_id=external_id or f"uuid-{username}",
            username=username,
            name=name or username.title(),
            email=email or f"{username}@example.gr",
            groups=groups,
        )
        self.people[username] = (person, password)
        return person

    def remove(self, username: str) -> None:
        del self.people[username]

    async def authenticate(self, username: str, password: str) -> OrganisationPerson | None:
        self.asked += 1
        if self.down:
            raise DirectoryUnavailable("the directory is down")
        found = self.people.get(username)
        if not password or found is None or found[1] != password:
            return None
        return found[0]

    async def everyone(self) -> list[OrganisationPerson]:
        if self.down:
            raise DirectoryUnavailable("the directory is down")
        return [person for person, _ in self.people.values()]


class FakeIdentityProvider:
    """An OpenID Connect provider: `codes` maps a code to the person it signs in,
    for the flow whose nonce it was issued to (as PKCE and the nonce bind it)."""

    def __init__(self) -> None:
        self.codes: dict[str, tuple[str, OrganisationPerson]] = {}
        self.flows: list[OidcFlow] = []

    async def authorization(self, flow: OidcFlow) -> str:
        self.flows.append(flow)
        return f"https://idp.example.gr/auth?state={flow.state}&nonce={flow.nonce}"

    def code_for(self, flow: OidcFlow, person: OrganisationPerson) -> str:
        code = f"code-{len(self.codes) + 1}"
        self.codes[code] = (flow.verifier, person)
        return code

    async def person(
        self, flow: OidcFlow, code: str, issuer: str | None, now: datetime
    ) -> OrganisationPerson:
        if issuer not in (None, "https://idp.example.gr"):
            raise OrganisationRefused("another issuer")
        verifier, person = self.codes.get(code, ("", None))  # type: ignore[assignment]
        if person is None or verifier != flow.verifier:
            raise OrganisationRefused("the code is not this flow's")
        return person


class FakePasskeyCeremonies:
    """WebAuthn without a browser: a credential is JSON naming its id, the
    challenge it answers (base64) and the authenticator's signature counter."""

    def registration_options(
        self, user_handle: bytes, username: str, display_name: str, exclude: list[str]
    ) -> tuple[str, bytes]:
        challenge = f"register-{username}".encode()
        return json.dumps({"challenge": challenge.decode(), "exclude": exclude}), challenge

    def verify_registration(self, credential: str, challenge: bytes) -> NewPasskey:
        values = json.loads(credential)
        if values.get("challenge") != challenge.decode():
            raise InvalidCode()
        return NewPasskey(values["id"], f"key-of-{values['id']}", values.get("count", 0))

    def authentication_options(self, allow: list[str]) -> tuple[str, bytes]:
        challenge = f"sign-in-{len(allow)}-{allow[0] if allow else ''}".encode()
        return json.dumps({"challenge": challenge.decode(), "allow": allow}), challenge

    def credential_id_of(self, credential: str) -> str | None:
        found = json.loads(credential).get("id")
        return found if isinstance(found, str) else None

    def verify_authentication(
        self, credential: str, challenge: bytes, public_key: str, sign_count: int
    ) -> int:
        values = json.loads(credential)
        if values.get("challenge") != challenge.decode() or public_key != f"key-of-{values['id']}":
            raise InvalidCode()
        return int(values.get("count", 0))
