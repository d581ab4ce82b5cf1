"""Self-registration (`POST /api/v1/accounts`), and opening an account at all.

An address that is already registered gets the same answer as a new one; its
owner is told by mail instead (no account enumeration).
"""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from helpdesk.contracts import identity as contract
from helpdesk.contracts.actors import Role
from helpdesk.contracts.replies import FieldError
from helpdesk.identity.domain import policy
from helpdesk.identity.domain.errors import (
    EmailTaken,
    RateLimited,
    RegistrationClosed,
    UsernameTaken,
)
from helpdesk.identity.domain.user import Source, User
from helpdesk.identity.handlers.deps import Deps, UseCases
from helpdesk.servicekit.handlers import invalid, retry_on_conflict
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)


async def register(cmd: contract.RegisterUser, deps: Deps) -> contract.Registered:
    problems = account_problems(cmd.name, cmd.username, cmd.password, cmd.email)
    if cmd.client_address:
        async with deps.uow() as uow:
            wait = await uow.limits.take(deps.limits.registration, cmd.client_address)
            await uow.commit()
        if wait:
            raise RateLimited(wait)
    if problems:
        raise invalid(problems)
    allowed(deps, cmd.email, local=True)
    # Hashed whichever way this goes, so the answer takes as long either way.
    password_hash = await deps.passwords.hash(cmd.password)
    done = contract.Registered(message=contract.REGISTERED_MESSAGE[cmd.locale])
    try:
        await open_account(
            deps, cmd.name, cmd.username, cmd.email, cmd.locale, [Role.CUSTOMER], password_hash
        )
    except EmailTaken:
        await retry_on_conflict(lambda: _tell_owner(deps, policy.email_key(cmd.email)))
    return done  # the same answer: whether an address is registered is not revealed


def allowed(deps: Deps, email: str, *, local: bool) -> None:
    """HELPDESK_REGISTRATION: "closed" refuses every new local account (the
    organisation's accounts only); "domains" refuses an address outside the
    listed domains, for the organisation's new accounts too."""
    mode = deps.settings.registration
    if mode == "closed" and local:
        raise RegistrationClosed(
            "Accounts are made by signing in with your organisation's account."
        )
    domain = email.rpartition("@")[2].lower()
    if mode == "domains" and domain not in deps.settings.registration_domain_set:
        raise RegistrationClosed("Accounts are open to the organisation's addresses only.")


def account_problems(name: str, username: str, password: str, email: str) -> list[FieldError]:
    """What a new account's fields break of the policy, as field errors."""
    by_field = {
        "name": policy.name_problems(name),
        "username": policy.username_problems(username),
        "password": policy.password_problems(password, username=username, email=email),
    }
    return [
        FieldError(field=field, message=f"{field} {problem}")
        for field, problems in by_field.items()
        for problem in problems
    ]


async def open_account(
    deps: Deps,
    name: str,
    username: str,
    email: str,
    locale: contract.Locale,
    roles: list[Role],
    password_hash: str,
    *,
    activated: bool = False,
    source: Source = "local",
    external_id: str | None = None,
) -> User:
    """A new account: pending with a mailed activation token, or active at once.

    Raises `UsernameTaken` or `EmailTaken` if the key is held, also when a
    concurrent registration commits it first.
    """
    username_key, email_key = policy.username_key(username), policy.email_key(email)
    now, user_id = deps.clock.now(), uuid4()
    raw = None if activated else deps.tokens.new()
    expires_at = now + timedelta(hours=deps.settings.activation_token_hours)
    events = User.register(
        user_id=user_id,
        name=name,
        username=policy.normalize_username(username),
        username_key=username_key,
        email=email,
        email_key=email_key,
        locale=locale,
        roles=roles,
        password_hash=password_hash,
        now=now,
        activation=None if raw is None else (deps.tokens.hash(raw), expires_at),
        source=source,
        external_id=external_id,
    )
    user = User(user_id=user_id)
    async with deps.uow() as uow:
        if await uow.users.id_by_username(username_key):
            raise UsernameTaken()
        if await uow.users.id_by_email(email_key):
            raise EmailTaken()
        await uow.users.save(user, events, sealed_token=None if raw is None else deps.seal(raw))
        await uow.commit()
    log.info("user registered", user_id=str(user_id), activated=activated, source=source)
    return user


async def _tell_owner(deps: Deps, email_key: str) -> None:
    """Mail the owner, at most `owner_notice_limit` times an hour per address: a
    flood of registrations with someone's address must not become a flood of mail."""
    async with deps.uow() as uow:
        user_id = await uow.users.id_by_email(email_key)
        if user_id is None:  # the account that took the address is gone (cancelled meanwhile)
            return
        if await uow.limits.take(deps.limits.owner_notice, email_key):
            log.info("owner already told within the hour", user_id=str(user_id))
            return  # rolled back with the unit: nothing counted, nothing sent
        user = await uow.users.get(user_id)
        await uow.users.save(user, user.note_registration_attempt(deps.clock.now()))
        await uow.commit()
    log.info("registration attempted for an existing e-mail", user_id=str(user_id))


HANDLERS: UseCases = {contract.RegisterUser: register}
