"""Access-token verification: checked once per token, expiry on every use."""

from __future__ import annotations

import time
import uuid

import pytest
from pydantic import ValidationError

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.replies import Refused
from helpdesk.devstack.keys import generate_keypair
from helpdesk.servicekit import access_tokens
from tests.tokens import access_token, public_key

ACTOR = Actor(user_id=uuid.uuid4(), roles=[Role.CUSTOMER], session_id=str(uuid.uuid4()))


def test_a_token_is_verified_once_and_its_claims_are_shared() -> None:
    token = access_token(ACTOR)
    first = access_tokens.verify(token, public_key())
    again = access_tokens.verify(token, public_key())
    assert again is first
    assert first.sub == str(ACTOR.user_id)
    with pytest.raises(ValidationError, match="frozen"):  # shared: nobody may change them
        first.sub = "someone else"  # type: ignore[misc]


def test_a_verified_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    token = access_token(ACTOR, ttl=60)
    access_tokens.verify(token, public_key())
    later = time.time() + 61
    monkeypatch.setattr(access_tokens.time, "time", lambda: later)
    with pytest.raises(Refused) as refused:
        access_tokens.verify(token, public_key())
    assert refused.value.error.code == "token_expired"
    # ... unless within the leeway the services allow for clock skew.
    assert access_tokens.verify(token, public_key(), leeway=30).sub == str(ACTOR.user_id)


def test_a_refused_token_is_refused_every_time() -> None:
    _, other_public = generate_keypair()
    token = access_token(ACTOR)
    for _ in range(2):
        with pytest.raises(Refused) as refused:
            access_tokens.verify(token, other_public)
        assert refused.value.error.code == "unauthenticated"
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(Refused):
        access_tokens.verify(tampered, public_key())
