"""One method per identity command: check limits, load, decide, record, answer.

`Identity` holds the adapters (pool, hasher, token issuer, clock); tests build
it with their own clock or cheaper argon2 parameters instead of patching.
Every answer is a `Reply`: bad input and refusals are typed errors, never
exceptions over the wire.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

import asyncpg

from helpdesk.contracts import identity as contract
from helpdesk.contracts.actors import Role
from helpdesk.contracts.envelope import EventData
from helpdesk.contracts.replies import FieldError, Reply
from helpdesk.identity import ratelimits
from helpdesk.identity.access_tokens import AccessTokenIssuer
from helpdesk.identity.domain import policy
from helpdesk.identity.domain.session import (
    RefreshTokenReused,
    Session,
    SessionEnded,
    session_stream,
)
from helpdesk.identity.domain.user import DomainError, User, UserEvent, user_stream
from helpdesk.identity.passwords import PasswordHasher
from helpdesk.identity.ratelimits import Limit
from helpdesk.identity.repository import Accounts
from helpdesk.identity.settings import Settings
from helpdesk.identity.tokens import new_token, token_hash
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import ConcurrencyError
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.outbox import OutgoingMessage
from helpdesk.servicekit.runtime import current_correlation_id

log = get_logger(__name__)

T = TypeVar("T")
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def outgoing(event: EventData) -> OutgoingMessage:
    return OutgoingMessage.of(event, correlation_id=current_correlation_id())


async def retrying(attempt: Callable[[], Awaitable[T]], times: int = 5) -> T:
    """Run a load-decide-record attempt again when another writer got there first."""
    for _ in range(times - 1):
        try:
            return await attempt()
        except ConcurrencyError:
            continue
    return await attempt()


def invalid(field: str, problems: list[str]) -> list[FieldError]:
    return [FieldError(field=field, message=f"{field} {p}") for p in problems]


def validation_failure(errors: list[FieldError]) -> Reply[Any]:
    return Reply.failure("validation_error", "Some fields are invalid.", field_errors=errors)


def rate_limited(wait: int) -> Reply[Any]:
    return Reply.failure(
        "rate_limited", f"Too many attempts. Try again in {wait} seconds.", retry_after=wait
    )


@dataclass(frozen=True)
class Limits:
    login_account: Limit
    login_address: Limit
    registration: Limit
    resend: Limit
    password_recovery: Limit
    username_recovery: Limit

    @classmethod
    def from_settings(cls, s: Settings) -> Limits:
        login = timedelta(minutes=s.login_window_minutes)
        recovery = timedelta(minutes=s.recovery_window_minutes)
        return cls(
            login_account=Limit("login-account", s.login_account_limit, login),
            login_address=Limit("login-address", s.login_address_limit, login),
            registration=Limit(
                "registration-address",
                s.registration_address_limit,
                timedelta(minutes=s.registration_window_minutes),
            ),
            resend=Limit("activation-resend", s.recovery_limit, recovery),
            password_recovery=Limit("recovery-password", s.recovery_limit, recovery),
            username_recovery=Limit("recovery-username", s.recovery_limit, recovery),
        )


@dataclass
class Identity:
    pool: asyncpg.Pool
    settings: Settings
    hasher: PasswordHasher
    issuer: AccessTokenIssuer
    accounts: Accounts
    clock: Clock = utcnow

    @classmethod
    def from_settings(
        cls, pool: asyncpg.Pool, settings: Settings, clock: Clock = utcnow
    ) -> Identity:
        return cls(
            pool=pool,
            settings=settings,
            hasher=PasswordHasher(
                time_cost=settings.argon2_time_cost,
                memory_kib=settings.argon2_memory_kib,
                parallelism=settings.argon2_parallelism,
            ),
            issuer=AccessTokenIssuer(
                settings.jwt_private_key.get_secret_value(),
                timedelta(minutes=settings.access_token_minutes),
            ),
            accounts=Accounts(),
            clock=clock,
        )

    @property
    def limits(self) -> Limits:
        return Limits.from_settings(self.settings)

    async def _take(self, conn: Connection, limit: Limit, key: str | None) -> int | None:
        if not key:
            return None
        async with conn.transaction():
            return await ratelimits.take(conn, limit, key)

    # ------------------------------------------------------------ registration

    async def register(self, cmd: contract.RegisterUser) -> Reply[contract.Registered]:
        errors = (
            invalid("name", policy.name_problems(cmd.name))
            + invalid("username", policy.username_problems(cmd.username))
            + invalid(
                "password",
                policy.password_problems(cmd.password, username=cmd.username, email=cmd.email),
            )
        )
        done = Reply.success(contract.Registered(message=contract.REGISTERED_MESSAGE[cmd.locale]))
        async with self.pool.acquire() as conn:
            wait = await self._take(conn, self.limits.registration, cmd.client_address)
            if wait:
                return rate_limited(wait)
            if errors:
                return validation_failure(errors)
            username_key, email_key = policy.username_key(cmd.username), policy.email_key(cmd.email)
            # Hashed whichever way this goes, so the answer takes as long either way.
            password_hash = await self.hasher.hash(cmd.password)
            if await self.accounts.user_id_by_username(conn, username_key):
                return username_taken()
            existing = await self.accounts.user_id_by_email(conn, email_key)
            if existing is None:
                try:
                    await self._create(
                        conn,
                        cmd.name,
                        cmd.username,
                        cmd.email,
                        cmd.locale,
                        [Role.CUSTOMER],
                        password_hash,
                        activated=False,
                    )
                    return done
                except asyncpg.UniqueViolationError as exc:
                    # A concurrent registration committed the same key first.
                    if exc.constraint_name == "users_username_key":
                        return username_taken()
                    existing = await self.accounts.user_id_by_email(conn, email_key)
                    if existing is None:
                        raise
            owner = existing
            await retrying(lambda: self._tell_owner(conn, owner))
            return done  # the same answer: whether an address is registered is not revealed

    async def _create(
        self,
        conn: Connection,
        name: str,
        username: str,
        email: str,
        locale: contract.Locale,
        roles: list[Role],
        password_hash: str,
        *,
        activated: bool,
    ) -> User:
        now, user_id = self.clock(), uuid4()
        raw = None if activated else new_token()
        expires_at = now + timedelta(hours=self.settings.activation_token_hours)
        events = User.register(
            user_id=user_id,
            name=name,
            username=policy.normalize_username(username),
            username_key=policy.username_key(username),
            email=email,
            email_key=policy.email_key(email),
            locale=locale,
            roles=roles,
            password_hash=password_hash,
            now=now,
            activation=None if raw is None else (token_hash(raw), expires_at),
        )
        user = User.fold(user_id, events)
        messages = [
            outgoing(
                contract.UserRegistered(
                    user_id=user_id,
                    name=user.name,
                    username=user.username,
                    email=user.email,
                    locale=locale,
                    roles=user.roles,
                    registered_at=now,
                    activation_token=raw,
                    activation_expires_at=None if raw is None else expires_at,
                ),
            )
        ]
        if activated:
            messages.append(
                outgoing(
                    contract.UserActivated(
                        user_id=user_id, username=user.username, activated_at=now
                    )
                )
            )
        await self.accounts.record(conn, user_stream(user_id), 0, events, messages)
        log.info("user registered", user_id=str(user_id), activated=activated)
        return user

    async def _tell_owner(self, conn: Connection, user_id: UUID) -> None:
        user = await self.accounts.user(conn, user_id)
        now = self.clock()
        await self.accounts.record(
            conn,
            user_stream(user_id),
            user.version,
            user.note_registration_attempt(now),
            [
                outgoing(
                    contract.RegistrationAttemptedForExistingEmail(
                        user_id=user_id,
                        name=user.name,
                        username=user.username,
                        email=user.email,
                        locale=_locale(user),
                        attempted_at=now,
                    )
                )
            ],
        )
        log.info("registration attempted for an existing e-mail", user_id=str(user_id))

    async def activate(self, cmd: contract.ActivateAccount) -> Reply[contract.Activated]:
        hashed = token_hash(cmd.token)
        async with self.pool.acquire() as conn:
            user_id = await self.accounts.token_owner(conn, hashed, "activation")
            if user_id is None:
                return invalid_token("This activation link is not valid.")

            async def attempt() -> Reply[contract.Activated]:
                user = await self.accounts.user(conn, user_id)
                now = self.clock()
                try:
                    events = user.activate(hashed, now)
                except DomainError as exc:
                    return Reply.failure(
                        exc.code,
                        f"{exc} (POST /api/v1/accounts/activation/resend sends a new link)",
                    )
                if not events:
                    return Reply.success(contract.Activated(already_active=True))
                await self.accounts.record(
                    conn,
                    user_stream(user_id),
                    user.version,
                    events,
                    [
                        outgoing(
                            contract.UserActivated(
                                user_id=user_id, username=user.username, activated_at=now
                            )
                        )
                    ],
                )
                log.info("user activated", user_id=str(user_id))
                return Reply.success(contract.Activated())

            return await retrying(attempt)

    async def resend_activation(self, cmd: contract.ResendActivation) -> Reply[contract.Accepted]:
        async def act(conn: Connection, user_id: UUID) -> None:
            user = await self.accounts.user(conn, user_id)
            if user.is_active:
                return
            raw, now = new_token(), self.clock()
            expires_at = now + timedelta(hours=self.settings.activation_token_hours)
            await self.accounts.record(
                conn,
                user_stream(user_id),
                user.version,
                user.reissue_activation(token_hash(raw), expires_at),
                [
                    outgoing(
                        contract.ActivationResent(
                            user_id=user_id,
                            name=user.name,
                            username=user.username,
                            email=user.email,
                            locale=_locale(user),
                            activation_token=raw,
                            activation_expires_at=expires_at,
                        ),
                    )
                ],
            )
            log.info("activation link sent again", user_id=str(user_id))

        return await self._by_email(cmd.email, cmd.locale, self.limits.resend, act)

    # ------------------------------------------------------------ sessions

    async def login(self, cmd: contract.Login) -> Reply[contract.SessionTokens]:
        username_key = policy.username_key(cmd.username)
        limits = self.limits
        async with self.pool.acquire() as conn:
            waits = [
                await ratelimits.retry_after(conn, limits.login_account, username_key),
                await ratelimits.retry_after(conn, limits.login_address, cmd.client_address)
                if cmd.client_address
                else None,
            ]
            if any(waits):
                return rate_limited(max(w for w in waits if w))
            user_id = await self.accounts.user_id_by_username(conn, username_key)
            user = None if user_id is None else await self.accounts.user(conn, user_id)
            # An unknown username is checked against a decoy hash: same cost, same answer.
            checked = await self.hasher.verify(user.password_hash if user else None, cmd.password)
            if user is None or not checked.ok:
                async with conn.transaction():
                    await ratelimits.hit(conn, limits.login_account, username_key)
                    if cmd.client_address:
                        await ratelimits.hit(conn, limits.login_address, cmd.client_address)
                log.info("login failed", user_id=str(user_id) if user_id else None)
                return Reply.failure("invalid_credentials", "Wrong username or password.")
            await ratelimits.clear(conn, limits.login_account, username_key)
            if not user.is_active:
                return Reply.failure(
                    "account_not_activated",
                    "Activate your account first with the link we sent to your e-mail address.",
                )
            if checked.needs_rehash:
                await self._rehash(conn, user, cmd.password)
            return Reply.success(await self._start_session(conn, user))

    async def _rehash(self, conn: Connection, user: User, password: str) -> None:
        new_hash = await self.hasher.hash(password)
        try:
            await self.accounts.record(
                conn, user_stream(user.user_id), user.version, user.rehash_password(new_hash)
            )
            log.info("password rehashed with current parameters", user_id=str(user.user_id))
        except ConcurrencyError:
            pass  # the next login will try again

    async def _start_session(self, conn: Connection, user: User) -> contract.SessionTokens:
        session_id, raw, now = uuid4(), new_token(), self.clock()
        ttl = timedelta(days=self.settings.refresh_token_days)
        events = Session.start(
            session_id=session_id,
            user_id=user.user_id,
            refresh_token_hash=token_hash(raw),
            expires_at=now + ttl,
            now=now,
        )
        await self.accounts.record(conn, session_stream(session_id), 0, events)
        log.info("session started", user_id=str(user.user_id), session_id=str(session_id))
        return self._tokens(user, session_id, raw, now, ttl)

    def _tokens(
        self, user: User, session_id: UUID, refresh_token: str, now: datetime, ttl: timedelta
    ) -> contract.SessionTokens:
        access = self.issuer.issue(
            user_id=user.user_id,
            roles=user.roles,
            session_id=session_id,
            name=user.name,
            locale=user.locale,
            now=now,
        )
        return contract.SessionTokens(
            access_token=access,
            refresh_token=refresh_token,
            expires_in=int(self.issuer.ttl.total_seconds()),
            refresh_expires_in=int(ttl.total_seconds()),
        )

    async def refresh(self, cmd: contract.RefreshSession) -> Reply[contract.SessionTokens]:
        presented = token_hash(cmd.refresh_token)
        async with self.pool.acquire() as conn:
            session_id = await self.accounts.session_of_refresh_token(conn, presented)
            if session_id is None:
                return unauthenticated("This refresh token is not valid; log in again.")

            async def attempt() -> Reply[contract.SessionTokens]:
                session = await self.accounts.session(conn, session_id)
                raw, now = new_token(), self.clock()
                ttl = timedelta(days=self.settings.refresh_token_days)
                try:
                    events = session.rotate(presented, token_hash(raw), now + ttl, now)
                except RefreshTokenReused as exc:
                    await self.accounts.record(
                        conn,
                        session_stream(session_id),
                        session.version,
                        session.revoke("refresh_token_reuse", now),
                    )
                    log.warning(
                        "refresh token reused; session revoked",
                        session_id=str(session_id),
                        user_id=str(session.user_id),
                    )
                    return unauthenticated(str(exc))
                except SessionEnded as exc:
                    return unauthenticated(str(exc))
                assert session.user_id is not None
                user = await self.accounts.user(conn, session.user_id)
                await self.accounts.record(
                    conn, session_stream(session_id), session.version, events
                )
                return Reply.success(self._tokens(user, session_id, raw, now, ttl))

            return await retrying(attempt)

    async def logout(self, cmd: contract.Logout) -> Reply[contract.LoggedOut]:
        if cmd.actor.session_id is None:
            return Reply.success(contract.LoggedOut())
        session_id = UUID(cmd.actor.session_id)
        async with self.pool.acquire() as conn:

            async def attempt() -> None:
                session = await self.accounts.session(conn, session_id)
                if session.user_id != cmd.actor.user_id:
                    return  # not the caller's session: nothing to do
                await self.accounts.record(
                    conn,
                    session_stream(session_id),
                    session.version,
                    session.revoke("logout", self.clock()),
                )

            await retrying(attempt)
        log.info("logged out", session_id=str(session_id))
        return Reply.success(contract.LoggedOut())

    # ------------------------------------------------------------ recovery

    async def _by_email(
        self,
        email: str,
        locale: str,
        limit: Limit,
        act: Callable[[Connection, UUID], Awaitable[None]],
    ) -> Reply[contract.Accepted]:
        """The enumeration-safe shape of every request by e-mail: rate-limited per
        address, the same answer, and no faster when the address is unknown."""
        started = time.monotonic()
        key = policy.email_key(email)
        async with self.pool.acquire() as conn:
            wait = await self._take(conn, limit, key)
            if wait:
                return rate_limited(wait)
            user_id = await self.accounts.user_id_by_email(conn, key)
            if user_id is not None:
                await retrying(lambda: act(conn, user_id))
        elapsed = time.monotonic() - started
        await asyncio.sleep(max(0.0, self.settings.recovery_min_seconds - elapsed))
        return Reply.success(contract.Accepted(message=contract.RECOVERY_ACCEPTED_MESSAGE[locale]))

    async def request_password_reset(
        self, cmd: contract.RequestPasswordReset
    ) -> Reply[contract.Accepted]:
        async def act(conn: Connection, user_id: UUID) -> None:
            user = await self.accounts.user(conn, user_id)
            raw, now = new_token(), self.clock()
            expires_at = now + timedelta(minutes=self.settings.reset_token_minutes)
            await self.accounts.record(
                conn,
                user_stream(user_id),
                user.version,
                user.request_password_reset(token_hash(raw), expires_at),
                [
                    outgoing(
                        contract.RecoveryRequested(
                            user_id=user_id,
                            kind="password",
                            name=user.name,
                            username=user.username,
                            email=user.email,
                            locale=_locale(user),
                            reset_token=raw,
                            expires_at=expires_at,
                        ),
                    )
                ],
            )
            log.info("password reset requested", user_id=str(user_id))

        return await self._by_email(cmd.email, cmd.locale, self.limits.password_recovery, act)

    async def request_username_reminder(
        self, cmd: contract.RequestUsernameReminder
    ) -> Reply[contract.Accepted]:
        async def act(conn: Connection, user_id: UUID) -> None:
            user = await self.accounts.user(conn, user_id)
            await self.accounts.record(
                conn,
                user_stream(user_id),
                user.version,
                user.remind_username(self.clock()),
                [
                    outgoing(
                        contract.RecoveryRequested(
                            user_id=user_id,
                            kind="username",
                            name=user.name,
                            username=user.username,
                            email=user.email,
                            locale=_locale(user),
                        )
                    )
                ],
            )
            log.info("username reminder requested", user_id=str(user_id))

        return await self._by_email(cmd.email, cmd.locale, self.limits.username_recovery, act)

    async def complete_password_reset(
        self, cmd: contract.CompletePasswordReset
    ) -> Reply[contract.PasswordReset]:
        hashed = token_hash(cmd.token)
        async with self.pool.acquire() as conn:
            user_id = await self.accounts.token_owner(conn, hashed, "reset")
            if user_id is None:
                return invalid_token("This password reset link is not valid.")
            user = await self.accounts.user(conn, user_id)
            problems = policy.password_problems(
                cmd.new_password, username=user.username, email=user.email
            )
            if problems:
                return validation_failure(invalid("new_password", problems))
            new_hash = await self.hasher.hash(cmd.new_password)

            async def attempt() -> Reply[contract.PasswordReset]:
                user = await self.accounts.user(conn, user_id)
                now = self.clock()
                try:
                    events = user.complete_password_reset(hashed, new_hash, now)
                except DomainError as exc:
                    return Reply.failure(exc.code, str(exc))
                messages = [
                    outgoing(
                        contract.PasswordChanged(
                            user_id=user_id,
                            name=user.name,
                            username=user.username,
                            email=user.email,
                            locale=_locale(user),
                            changed_at=now,
                        )
                    )
                ]
                if not user.is_active:
                    messages.append(
                        outgoing(
                            contract.UserActivated(
                                user_id=user_id, username=user.username, activated_at=now
                            )
                        )
                    )
                async with conn.transaction():
                    await self.accounts.record(
                        conn, user_stream(user_id), user.version, events, messages
                    )
                    revoked = await self._revoke_all_sessions(conn, user_id, now)
                log.info(
                    "password changed by reset", user_id=str(user_id), sessions_revoked=revoked
                )
                return Reply.success(contract.PasswordReset())

            return await retrying(attempt)

    async def _revoke_all_sessions(self, conn: Connection, user_id: UUID, now: datetime) -> int:
        sessions = await self.accounts.active_sessions(conn, user_id)
        for session_id in sessions:
            session = await self.accounts.session(conn, session_id)
            await self.accounts.record(
                conn,
                session_stream(session_id),
                session.version,
                session.revoke("password_changed", now),
            )
        return len(sessions)

    # ------------------------------------------------------------ profile and operators

    async def profile(self, cmd: contract.GetProfile) -> Reply[contract.Profile]:
        async with self.pool.acquire() as conn:
            user = await self.accounts.user(conn, cmd.actor.user_id)
        if not user.exists or user.registered_at is None:
            return unauthenticated("This account does not exist.")
        return Reply.success(
            contract.Profile(
                user_id=user.user_id,
                name=user.name,
                username=user.username,
                email=user.email,
                locale=_locale(user),
                roles=user.roles,
                status=user.status,
                registered_at=user.registered_at,
            )
        )

    async def create_user(self, cmd: contract.CreateUser) -> Reply[contract.UserCreated]:
        errors = (
            invalid("name", policy.name_problems(cmd.name))
            + invalid("username", policy.username_problems(cmd.username))
            + invalid(
                "password",
                policy.password_problems(cmd.password, username=cmd.username, email=cmd.email),
            )
        )
        if errors:
            return validation_failure(errors)
        roles = list(dict.fromkeys(cmd.roles or [Role.CUSTOMER]))
        password_hash = await self.hasher.hash(cmd.password)
        async with self.pool.acquire() as conn:
            try:
                user = await self._create(
                    conn,
                    cmd.name,
                    cmd.username,
                    cmd.email,
                    cmd.locale,
                    roles,
                    password_hash,
                    activated=cmd.activated,
                )
            except asyncpg.UniqueViolationError as exc:
                if exc.constraint_name == "users_username_key":
                    return username_taken()
                return Reply.failure("email_taken", "An account already uses this e-mail.")
        return Reply.success(
            contract.UserCreated(user_id=user.user_id, username=user.username, roles=user.roles)
        )

    async def grant_role(self, cmd: contract.GrantRole) -> Reply[contract.RolesGranted]:
        async with self.pool.acquire() as conn:
            user_id = await self.accounts.user_id_by_username(
                conn, policy.username_key(cmd.username)
            )
            if user_id is None:
                return Reply.failure("not_found", f"No user is called {cmd.username!r}.")

            async def attempt() -> Reply[contract.RolesGranted]:
                user = await self.accounts.user(conn, user_id)
                events: list[UserEvent] = user.grant_role(cmd.role)
                if events:
                    for event in events:
                        user.apply(event)
                    await self.accounts.record(
                        conn,
                        user_stream(user_id),
                        user.version - len(events),
                        events,
                        [outgoing(contract.RolesChanged(user_id=user_id, roles=user.roles))],
                    )
                    log.info("role granted", user_id=str(user_id), role=cmd.role.value)
                return Reply.success(
                    contract.RolesGranted(user_id=user_id, username=user.username, roles=user.roles)
                )

            return await retrying(attempt)


def _locale(user: User) -> contract.Locale:
    return "en" if user.locale == "en" else "el"


def username_taken() -> Reply[Any]:
    return Reply.failure(
        "username_taken",
        "This username is taken; choose another.",
        field_errors=[FieldError(field="username", message="username is taken")],
    )


def invalid_token(message: str) -> Reply[Any]:
    return Reply.failure("invalid_token", message)


def unauthenticated(message: str) -> Reply[Any]:
    return Reply.failure("unauthenticated", message)
