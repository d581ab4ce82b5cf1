"""Admins manage people, against the fakes: 403 for others, deactivation ends
every session and login, reactivation lets them back, roles are set whole."""

from __future__ import annotations

import pytest

from helpdesk.contracts import identity as contract
from helpdesk.contracts import people
from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.replies import Refused
from helpdesk.identity.handlers.deps import Deps
from helpdesk.identity.handlers.people import deactivate_user, reactivate_user, set_roles
from helpdesk.identity.handlers.sessions import login, profile, refresh
from tests.unit.identity.conftest import World, login_of, signed_in


async def test_only_admins_and_deactivation_ends_sessions(deps: Deps, world: World) -> None:
    command, tokens, actor = await signed_in(deps, world, 1)
    admin = Actor(user_id=actor.user_id.__class__(int=1), roles=[Role.ADMIN])
    with pytest.raises(Refused) as refused:
        await deactivate_user(people.DeactivateUser(actor=actor, user_id=actor.user_id), deps)
    assert refused.value.error.code == "forbidden"

    done = await deactivate_user(people.DeactivateUser(actor=admin, user_id=actor.user_id), deps)
    assert (done.status, done.sessions_ended) == ("deactivated", 1)
    # The access token out there is void at once: its session is on the revocation list.
    assert {str(s) for s in world.revocations.sessions} == {str(actor.session_id)}
    # Had the list missed it, the profile still refuses the deactivated account.
    with pytest.raises(Refused) as refused:
        await profile(contract.GetProfile(actor=actor), deps)
    assert refused.value.error.code == "unauthenticated"
    (event,) = world.db.published(people.UserDeactivated)
    assert (event.user_id, event.by) == (actor.user_id, admin.user_id)
    with pytest.raises(Refused) as refused:
        await refresh(contract.RefreshSession(refresh_token=tokens.refresh_token), deps)
    assert refused.value.error.code == "unauthenticated"
    with pytest.raises(Refused) as refused:
        await login(login_of(command), deps)
    assert refused.value.error.code == "account_not_activated"
    # Again: nothing more happens.
    again = await deactivate_user(people.DeactivateUser(actor=admin, user_id=actor.user_id), deps)
    assert again.sessions_ended == 0
    assert len(world.db.published(people.UserDeactivated)) == 1

    back = await reactivate_user(people.ReactivateUser(actor=admin, user_id=actor.user_id), deps)
    assert back.status == "active"
    await login(login_of(command), deps)


async def test_roles_are_set_whole_and_admins_keep_their_own(deps: Deps, world: World) -> None:
    _, _, actor = await signed_in(deps, world, 2)
    admin = Actor(user_id=actor.user_id, roles=[Role.ADMIN])
    with pytest.raises(Refused) as refused:
        await set_roles(
            people.SetRoles(actor=admin, user_id=actor.user_id, roles=[Role.AGENT]), deps
        )
    assert refused.value.error.code == "conflict"
    changed = await set_roles(
        people.SetRoles(actor=admin, user_id=actor.user_id, roles=[Role.ADMIN, Role.AGENT]), deps
    )
    assert changed.roles == [Role.ADMIN, Role.AGENT]
    (event,) = world.db.published(contract.RolesChanged)
    assert event.roles == [Role.ADMIN, Role.AGENT]
