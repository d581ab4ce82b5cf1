"""Erasure in identity on a real PostgreSQL (issue 30, docs/privacy.md): a person
asks, an admin erases; the key goes in the same transaction, nothing of them is
left in plaintext in identity's schema, they cannot sign in, and a rebuild of the
projections from the store gives the same scrubbed rows."""

from __future__ import annotations

import uuid
from datetime import timedelta
from uuid import UUID

import asyncpg
import pytest

from helpdesk.contracts import identity as contract
from helpdesk.contracts import privacy
from helpdesk.contracts.actors import Actor, Role
from helpdesk.identity.adapters.postgres import STORE
from helpdesk.identity.adapters.projections import PROJECTIONS
from helpdesk.identity.handlers.erasure import apply_retention
from helpdesk.servicekit import keystore
from helpdesk.servicekit.clock import ManualClock
from helpdesk.servicekit.projections import rebuild
from tests.integration.identity.conftest import (
    Identity,
    published,
    registered_and_active,
    registration,
)
from tests.unit.identity.conftest import login_of

pytestmark = pytest.mark.integration

ADMIN = Actor(user_id=uuid.uuid4(), roles=[Role.ADMIN])


async def user_id_of(identity: Identity, username: str) -> UUID:
    user_id: UUID = await identity.pool.fetchval(
        "SELECT user_id FROM users WHERE username = $1", username
    )
    return user_id


async def plaintext_hits(pool: asyncpg.Pool, markers: list[str]) -> list[str]:
    """Every table of the schema whose rows, as text, contain a marker."""
    schema = await pool.fetchval("SELECT current_schema()")
    tables = await pool.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
    )
    hits = []
    for row in tables:
        for marker in markers:
            found = await pool.fetchval(
                f'SELECT count(*) FROM "{row["table_name"]}" t WHERE t::text ILIKE $1',
                f"%{marker}%",
            )
            if found:
                hits.append(f"{row['table_name']}: {marker}")
    return hits


async def test_a_person_asks_an_admin_erases_and_nothing_of_them_is_left(
    identity: Identity,
) -> None:
    n = uuid.uuid4().hex[:8]
    maria = await registered_and_active(identity, f"er{n}")
    other = await registered_and_active(identity, f"keep{n}")
    maria_id = await user_id_of(identity, maria.username)
    me = Actor(user_id=maria_id, roles=[Role.CUSTOMER])
    note = f"note{n} please forget me"

    asked = await identity.ask(privacy.RequestErasure(actor=me, note=note))
    assert asked.ok, asked.error
    listed = await identity.ask(privacy.ListErasureRequests(actor=ADMIN))
    assert listed.result is not None
    (request,) = [r for r in listed.result.items if r.user_id == maria_id]
    assert (request.username, request.note) == (maria.username, note)
    refused = await identity.ask(privacy.ListErasureRequests(actor=me))
    assert refused.error is not None
    assert refused.error.code == "forbidden"
    refused = await identity.ask(privacy.EraseUser(actor=me, user_id=maria_id, reason="test"))
    assert refused.error is not None
    assert refused.error.code == "forbidden"
    itself = await identity.ask(privacy.EraseUser(actor=ADMIN, user_id=ADMIN.user_id, reason="x y"))
    assert itself.error is not None
    assert itself.error.code in ("conflict", "not_found")

    erased = await identity.ask(
        privacy.EraseUser(actor=ADMIN, user_id=maria_id, reason="asked through the portal")
    )
    assert erased.result is not None, erased.error
    again = await identity.ask(
        privacy.EraseUser(actor=ADMIN, user_id=maria_id, reason="asked twice")
    )
    assert again.result is not None
    assert again.result.erased_at == erased.result.erased_at

    # The key is gone, in the erasure's transaction, and the event names it (only its id).
    async with identity.pool.acquire() as conn:
        assert await keystore.owned().is_destroyed(conn, maria_id)
        key_ids = await keystore.owned().key_ids_of(conn, maria_id)
    (event,) = [
        e
        for e in await published(identity.pool, "PersonalDataErased")
        if e.data["user_id"] == str(maria_id)
    ]
    assert event.data["reason"] == "request"
    assert event.data["by"] == str(ADMIN.user_id)
    assert [UUID(k) for k in event.data["key_ids"]] == key_ids

    # Nothing of hers in plaintext anywhere in identity's schema (events, outbox,
    # projections); the other person is untouched.
    assert await plaintext_hits(identity.pool, [maria.username, maria.email, note]) == []
    assert await plaintext_hits(identity.pool, [other.username]) != []
    # Her earlier events read as erased now.
    (registered,) = [
        e
        for e in await published(identity.pool, "UserRegistered")
        if e.data["user_id"] == str(maria_id)
    ]
    assert (registered.data["name"], registered.data["username"]) == ("", "")

    # She cannot sign in, and her request is no longer pending.
    login = await identity.ask(login_of(maria))
    assert login.error is not None
    assert login.error.code == "invalid_credentials"
    listed = await identity.ask(privacy.ListErasureRequests(actor=ADMIN))
    assert listed.result is not None
    assert maria_id not in {r.user_id for r in listed.result.items}

    # A rebuild from the store gives the same scrubbed rows.
    query = (
        "SELECT (SELECT json_agg(u ORDER BY user_id) FROM users u)::text,"
        " (SELECT json_agg(r ORDER BY user_id) FROM erasure_requests r)::text,"
        " (SELECT count(*) FROM user_tokens), (SELECT count(*) FROM passkeys)"
    )
    before = await identity.pool.fetchrow(query)
    for projection in PROJECTIONS:
        await rebuild(identity.pool, projection, store=STORE)
    assert tuple(await identity.pool.fetchrow(query)) == tuple(before)


async def test_the_operator_erases_by_username_and_a_stranger_is_not_found(
    identity: Identity,
) -> None:
    n = uuid.uuid4().hex[:8]
    nikos = await registered_and_active(identity, f"op{n}")
    done = await identity.ask(
        privacy.OperatorEraseUser(username=nikos.username, reason="left the company")
    )
    assert done.ok, done.error
    event = (await published(identity.pool, "PersonalDataErased"))[-1]
    assert (event.data["reason"], event.data["by"]) == ("admin", None)
    unknown = await identity.ask(
        privacy.OperatorEraseUser(username=f"nobody{n}", reason="no such person")
    )
    assert unknown.error is not None
    assert unknown.error.code == "not_found"
    # A new registration may take the erased person's address again.
    again = await identity.ask(registration(f"op{n}", client_address="10.1.1.1"))
    assert again.ok, again.error
    assert isinstance(again.result, contract.Registered)


async def test_accounts_never_activated_are_erased_after_thirty_days(
    identity: Identity, clock: ManualClock
) -> None:
    n = uuid.uuid4().hex[:8]
    active = await registered_and_active(identity, f"on{n}")
    pending = registration(f"off{n}", client_address="10.2.2.2")
    assert (await identity.ask(pending)).ok
    pending_id = await user_id_of(identity, pending.username)

    # Within the thirty days nothing is due; each run is an event with its counts.
    assert await apply_retention(identity.deps) == {"unactivated_accounts": 0}
    clock.advance(timedelta(days=31))
    assert await apply_retention(identity.deps) == {"unactivated_accounts": 1}
    assert await apply_retention(identity.deps) == {"unactivated_accounts": 0}

    runs = await published(identity.pool, "RetentionApplied")
    assert [r.data["counts"]["unactivated_accounts"] for r in runs] == [0, 1, 0]
    (erased,) = await published(identity.pool, "PersonalDataErased")
    assert (erased.data["user_id"], erased.data["reason"]) == (str(pending_id), "retention")
    assert await plaintext_hits(identity.pool, [pending.username, pending.email]) == []
    assert await plaintext_hits(identity.pool, [active.username]) != []
