"""Activating an account with the mailed link, cancelling a registration one
never made ("this was not me"), and mailing a new link.

Activation needs the mailed token *and* the password chosen at registration:
the token proves the mailbox, the password that whoever registered owns it.
Otherwise anyone could register someone else's address with a password of
their own and wait for the owner (or a mail scanner) to follow the link.
"""

from __future__ import annotations

from datetime import timedelta

from helpdesk.contracts import identity as contract
from helpdesk.identity.domain.errors import InvalidToken, WrongPassword
from helpdesk.identity.domain.user import User
from helpdesk.identity.handlers.deps import Deps, UnitOfWork, UseCases
from helpdesk.identity.handlers.recovery import (
    answer_by_email,
    mailed_token_owner,
    save_with_mailed_token,
)
from helpdesk.servicekit.handlers import retry_on_conflict
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)

RESEND_HINT = "(POST /api/v1/accounts/activation/resend sends a new link)"


async def activate(cmd: contract.ActivateAccount, deps: Deps) -> contract.Activated:
    hashed, user = await mailed_token_owner(
        deps, cmd.token, "activation", "This activation link is not valid."
    )
    user_id = user.user_id
    checked = await deps.passwords.verify(user.password_hash, cmd.password)
    if not checked.ok:
        log.info("activation with a wrong password", user_id=str(user_id))
        raise WrongPassword()

    async def attempt() -> contract.Activated:
        async with deps.uow() as uow:
            user = await uow.users.get(user_id)
            try:
                events = user.activate(hashed, deps.clock.now())
            except InvalidToken as exc:  # expired or superseded: say how to get a new one
                raise InvalidToken(f"{exc.message} {RESEND_HINT}") from None
            if not events:
                return contract.Activated(already_active=True)
            await uow.users.save(user, events)
            await uow.commit()
        log.info("user activated", user_id=str(user_id))
        return contract.Activated()

    return await retry_on_conflict(attempt)


async def cancel_registration(
    cmd: contract.CancelRegistration, deps: Deps
) -> contract.RegistrationCancelled:
    hashed, user = await mailed_token_owner(
        deps,
        cmd.token,
        "activation",
        "This link is not valid (the registration may be cancelled already).",
    )
    user_id = user.user_id

    async def attempt() -> None:
        async with deps.uow() as uow:
            user = await uow.users.get(user_id)
            await uow.users.save(user, user.cancel_registration(hashed, deps.clock.now()))
            await uow.commit()

    await retry_on_conflict(attempt)
    log.info("registration cancelled by the mailbox owner", user_id=str(user_id))
    return contract.RegistrationCancelled()


async def resend_activation(cmd: contract.ResendActivation, deps: Deps) -> contract.Accepted:
    async def resend(uow: UnitOfWork, user: User) -> None:
        if user.is_active:
            return
        lifetime = timedelta(hours=deps.settings.activation_token_hours)
        await save_with_mailed_token(uow, deps, user, lifetime, user.reissue_activation)
        log.info("activation link sent again", user_id=str(user.user_id))

    return await answer_by_email(deps, cmd, deps.limits.resend, resend)


HANDLERS: UseCases = {
    contract.ActivateAccount: activate,
    contract.CancelRegistration: cancel_registration,
    contract.ResendActivation: resend_activation,
}
