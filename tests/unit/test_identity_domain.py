"""The identity domain: username/password policy and the User and Session aggregates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from helpdesk.contracts.actors import Role
from helpdesk.identity.domain import policy
from helpdesk.identity.domain.errors import (
    AlreadyActive,
    InvalidToken,
    RefreshTokenReused,
    SessionEnded,
    TokenExpired,
)
from helpdesk.identity.domain.session import Session, SessionRevoked
from helpdesk.identity.domain.user import (
    Activated,
    PasswordChanged,
    User,
    UserEvent,
    user_event,
)

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def registered(
    name: str,
    username: str,
    email: str,
    locale: str,
    role: Role,
    activation: tuple[str, datetime] | None,
) -> tuple[User, list[UserEvent]]:
    """A newly registered user and its events (the keys: the lower-cased username and e-mail)."""
    user_id = uuid4()
    events = User.register(
        user_id=user_id,
        name=name,
        username=username,
        username_key=username.lower(),
        email=email,
        email_key=email.lower(),
        locale=locale,
        roles=[role],
        password_hash="argon-hash",
        now=NOW,
        activation=activation,
    )
    return User.fold(user_id, events), events


def pending_user(token_hash: str = "h-act") -> tuple[User, list[UserEvent]]:  # noqa: S107
    activation = (token_hash, NOW + timedelta(hours=48))
    return registered(
        "Μαρία Παπαδοπούλου", "Μαρία.Π", "maria@example.gr", "el", Role.CUSTOMER, activation
    )


# ---- policy


@pytest.mark.parametrize("name", ["abc", "maria.p", "Μαρία_Π-1", "a" * 64, "Ἀλέξανδρος"])
def test_valid_usernames(name: str) -> None:
    assert policy.username_problems(name) == []


@pytest.mark.parametrize("name", ["ab", "a" * 65, "has space", "semi;colon", "e@mail", ""])
def test_invalid_usernames(name: str) -> None:
    assert policy.username_problems(name)


def test_username_key_ignores_case_and_compatibility_forms() -> None:
    assert policy.username_key("ΜΑΡΙΑ") == policy.username_key("μαρια")
    assert policy.username_key("ΟΔΥΣΣΕΑΣ") == policy.username_key("οδυσσεας")
    assert policy.username_key("Ｍaria") == policy.username_key("maria")  # fullwidth M, NFKC
    assert policy.username_key("ﬁlippos") == policy.username_key("filippos")  # ligature


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "at least 10"),
        ("x" * 129, "at most 128"),
        ("Maria.Pap1", "username"),
        ("MARIA.PAP1", "username"),
        ("qwertyuiop", "too common"),
        ("Password123", "too common"),
    ],
)
def test_weak_passwords(password: str, problem: str) -> None:
    problems = policy.password_problems(password, username="maria.pap1")
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize("password", ["correct horse battery", "αλογο μπαταρία", "x" * 128])
def test_long_passwords_without_composition_rules_pass(password: str) -> None:
    assert policy.password_problems(password, username="maria") == []


def test_common_password_list_is_loaded() -> None:
    assert "1234567890" in policy.common_passwords()


# ---- user


def test_registration_leaves_a_pending_account_with_an_activation_token() -> None:
    user, events = pending_user()
    assert user.exists
    assert user.version == 2
    assert user.status == "pending_activation"
    assert user.activation_token_hash == "h-act"
    assert [type(e).__name__ for e in events] == ["Registered", "ActivationTokenIssued"]


def test_operator_created_user_is_active_at_once() -> None:
    admin, _ = registered("Admin", "admin", "a@example.org", "en", Role.ADMIN, activation=None)
    assert admin.is_active


def test_events_round_trip_through_their_stored_form() -> None:
    user, events = pending_user()
    stored = [(type(e).__name__, e.model_dump(mode="json")) for e in events]
    again = User.fold(user.user_id, [user_event(t, d) for t, d in stored])
    assert again == user


def test_activation_with_the_right_token_in_time() -> None:
    user, _ = pending_user()
    events = user.activate("h-act", NOW + timedelta(hours=47))
    assert [type(e) for e in events] == [Activated]
    user.apply(events[0])
    assert user.is_active
    assert user.activate("h-act", NOW + timedelta(days=30)) == []  # twice: friendly no-op


def test_activation_with_a_wrong_or_expired_token_fails() -> None:
    user, _ = pending_user()
    with pytest.raises(InvalidToken):
        user.activate("other", NOW)
    with pytest.raises(TokenExpired):
        user.activate("h-act", NOW + timedelta(hours=48))


def test_reissued_activation_token_voids_the_previous_one() -> None:
    user, _ = pending_user()
    for event in user.reissue_activation("h-new", NOW + timedelta(hours=48)):
        user.apply(event)
    with pytest.raises(InvalidToken):
        user.activate("h-act", NOW)
    assert user.activate("h-new", NOW)


def test_no_reissue_for_an_active_account() -> None:
    user, _ = pending_user()
    user.apply(Activated(at=NOW))
    with pytest.raises(AlreadyActive):
        user.reissue_activation("h", NOW)


def test_password_reset_is_single_use_and_voids_every_other_token() -> None:
    user, _ = pending_user()
    user.apply(Activated(at=NOW))
    for token in ("r1", "r2"):
        for event in user.request_password_reset(token, NOW + timedelta(hours=1)):
            user.apply(event)
    events = user.complete_password_reset("r1", "new-hash", NOW + timedelta(minutes=5))
    assert [type(e) for e in events] == [PasswordChanged]
    user.apply(events[0])
    assert user.password_hash == "new-hash"
    for token in ("r1", "r2"):
        with pytest.raises(InvalidToken):
            user.complete_password_reset(token, "x", NOW + timedelta(minutes=6))


def test_expired_reset_token_fails() -> None:
    user, _ = pending_user()
    for event in user.request_password_reset("r1", NOW + timedelta(hours=1)):
        user.apply(event)
    with pytest.raises(TokenExpired):
        user.complete_password_reset("r1", "x", NOW + timedelta(hours=1, seconds=1))


def test_reset_of_a_pending_account_also_activates_it() -> None:
    user, _ = pending_user()
    for event in user.request_password_reset("r1", NOW + timedelta(hours=1)):
        user.apply(event)
    events = user.complete_password_reset("r1", "x", NOW)
    assert [type(e) for e in events] == [PasswordChanged, Activated]


def test_granting_a_role_twice_records_nothing() -> None:
    user, _ = pending_user()
    events = user.grant_role(Role.AGENT)
    user.apply(events[0])
    assert user.roles == [Role.CUSTOMER, Role.AGENT]
    assert user.grant_role(Role.AGENT) == []


# ---- session


def started_session() -> Session:
    session_id = uuid4()
    events = Session.start(
        session_id=session_id,
        user_id=uuid4(),
        refresh_token_hash="t1",
        expires_at=NOW + timedelta(days=14),
        now=NOW,
    )
    return Session.fold(session_id, list(events))


def test_refresh_rotates_the_token() -> None:
    session = started_session()
    for event in session.rotate("t1", "t2", NOW + timedelta(days=15), NOW + timedelta(days=1)):
        session.apply(event)
    assert session.refresh_token_hash == "t2"


def test_reusing_a_rotated_token_is_detected() -> None:
    session = started_session()
    for event in session.rotate("t1", "t2", NOW + timedelta(days=15), NOW):
        session.apply(event)
    with pytest.raises(RefreshTokenReused):
        session.rotate("t1", "t3", NOW + timedelta(days=15), NOW)
    (revoked,) = session.revoke("refresh_token_reuse", NOW)
    assert isinstance(revoked, SessionRevoked)
    session.apply(revoked)
    with pytest.raises(SessionEnded):
        session.rotate("t2", "t3", NOW + timedelta(days=15), NOW)
    assert session.revoke("logout", NOW) == []


def test_expired_session_cannot_refresh() -> None:
    session = started_session()
    with pytest.raises(SessionEnded):
        session.rotate("t1", "t2", NOW + timedelta(days=28), NOW + timedelta(days=14))


@pytest.mark.parametrize("name", ["Eve\r\nBcc: x@example.org", "tab\there", "   "])
def test_names_with_control_characters_or_blank_are_refused(name: str) -> None:
    assert policy.name_problems(name)


def test_greek_names_are_fine() -> None:
    assert policy.name_problems("Μαρία Παπαδοπούλου") == []
