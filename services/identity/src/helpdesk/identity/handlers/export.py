"""The account part of a person's data export (docs/privacy.md, "Export"): the
profile, second factors by kind and date, the account's recorded changes, failed
sign-ins and, a page at a time, the sessions. Never a password hash, a token, a
TOTP seed, a recovery code or a passkey's key.

A person exports themselves, an admin anyone (the kit proved `actor`).
"""

from __future__ import annotations

from helpdesk.contracts import export as contract
from helpdesk.identity.domain import policy
from helpdesk.identity.domain.errors import DomainError, UnknownUser
from helpdesk.identity.domain.user import User
from helpdesk.identity.handlers.deps import AccountRecords, Deps, UseCases

SESSIONS_PER_PAGE = 500


class NotServed(DomainError):
    code = "unavailable"
    default_message = "Exports are not available on this replica."


# The profile's fields that the account holds under the same name.
_PROFILE_FIELDS = (
    "user_id",
    "name",
    "username",
    "email",
    "roles",
    "status",
    "source",
    "registered_at",
)


def _factors(user: User) -> list[contract.ExportedFactor]:
    factors = []
    if user.totp_added_at is not None:
        factors.append(contract.ExportedFactor(kind="totp", added_at=user.totp_added_at))
    if user.passkeys:
        added = min(p.added_at for p in user.passkeys.values())
        factors.append(
            contract.ExportedFactor(kind="passkey", added_at=added, count=len(user.passkeys))
        )
    if user.recovery_code_hashes:
        factors.append(
            contract.ExportedFactor(kind="recovery_codes", count=len(user.recovery_code_hashes))
        )
    return factors


async def export_account(query: contract.ExportAccount, deps: Deps) -> contract.AccountExport:
    query.ensure_allowed()
    records: AccountRecords | None = deps.records
    if records is None:
        raise NotServed()
    after = query.position()
    async with deps.uow() as uow:
        user = await uow.users.get(query.user_id)
    if not user.exists:
        raise UnknownUser(str(query.user_id))
    sessions, next_after = await records.sessions(user.user_id, after, SESSIONS_PER_PAGE)
    first_page = query.cursor is None
    history = await records.history(user.user_id) if first_page else []
    failed = (
        await records.failed_sign_ins(
            deps.limits.login_pair.bucket, policy.username_key(user.username)
        )
        if first_page
        else []
    )
    activated = [event.at for event in history if event.kind == "activated"]
    return contract.AccountExport(
        **{name: getattr(user, name) for name in _PROFILE_FIELDS},
        locale=user.language,
        activated_at=activated[0] if activated else None,
        second_factors=_factors(user),
        history=history,
        failed_sign_ins=failed,
        sessions=sessions,
        next_cursor=str(next_after) if next_after is not None else None,
    )


HANDLERS: UseCases = {contract.ExportAccount: export_account}
