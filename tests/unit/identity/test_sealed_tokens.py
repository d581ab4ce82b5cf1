"""Mail tokens sealed for the notifier alone (docs/security.md, "Where secrets live"):
identity seals with the public key and cannot open what it sealed; the notifier
opens with its private key (and the previous one during a rotation); malformed
keys stop a service at start with one line that never shows the key; the
`helpdesk seal-keys` commands; error descriptions that never quote input."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr, ValidationError

from helpdesk.cli.__main__ import main as cli
from helpdesk.contracts import identity as contract
from helpdesk.identity.handlers.deps import Deps
from helpdesk.identity.handlers.registration import register
from helpdesk.identity.settings import Settings as IdentitySettings
from helpdesk.servicekit import sealing
from helpdesk.servicekit.logging import describe_error
from helpdesk.servicekit.sealing import Opener, Sealer, Unsealable
from tests.unit.identity.conftest import World, registration

TOKEN = "Zq3V0mN8o1c-raw_token-that-only-the-mail-may-carry"


def test_the_notifier_opens_what_identity_sealed() -> None:
    private, public = sealing.generate()
    sealed = Sealer(public).seal(TOKEN)
    assert TOKEN not in sealed
    assert Opener([private]).open(sealed) == TOKEN
    # Randomised (an ephemeral key per seal): equal tokens do not look equal.
    assert Sealer(public).seal(TOKEN) != sealed


def test_identity_cannot_open_a_token_it_sealed() -> None:
    """Everything identity's configuration holds, tried as the private key: nothing opens."""
    notifier_private, notifier_public = sealing.generate()
    settings = IdentitySettings(jwt_private_key="unused", notifier_seal_public_key=notifier_public)
    sealed = Sealer(settings.notifier_seal_public_key).seal(TOKEN)
    candidates = [
        value.get_secret_value() if isinstance(value, SecretStr) else value
        for value in settings.model_dump().values()
        if isinstance(value, str | SecretStr)
    ]
    keys = [c for c in candidates if _is_key(c)]
    assert keys == [notifier_public]  # the only key identity holds is the public one
    for key in keys:
        with pytest.raises(Unsealable):
            Opener([key]).open(sealed)
    assert Opener([notifier_private]).open(sealed) == TOKEN


async def test_identity_publishes_only_sealed_tokens(deps: Deps, world: World) -> None:
    other_private, _ = sealing.generate()
    await register(registration(1), deps)
    (event,) = world.db.published(contract.UserRegistered)
    raw = world.tokens.issued[-1]
    assert raw not in event.model_dump_json()
    assert event.sealed_activation_token is not None
    with pytest.raises(Unsealable):
        Opener([other_private]).open(event.sealed_activation_token)


def test_during_a_rotation_the_previous_key_still_opens() -> None:
    old_private, old_public = sealing.generate()
    new_private, new_public = sealing.generate()
    opener = Opener([new_private, old_private])
    assert opener.open(Sealer(old_public).seal("in flight")) == "in flight"
    assert opener.open(Sealer(new_public).seal("fresh")) == "fresh"
    with pytest.raises(Unsealable, match="does not hold"):
        Opener([new_private]).open(Sealer(old_public).seal("in flight"))


def test_garbage_is_unsealable_without_being_quoted() -> None:
    private, _ = sealing.generate()
    for garbage in ("not-sealed", "%%%", ""):
        with pytest.raises(Unsealable) as refused:
            Opener([private]).open(garbage)
        assert garbage not in str(refused.value) or not garbage


@pytest.mark.parametrize(
    ("module", "variable"),
    [
        ("helpdesk.notifier", "HELPDESK_NOTIFIER_SEAL_PRIVATE_KEY"),
        ("helpdesk.identity", "HELPDESK_NOTIFIER_SEAL_PUBLIC_KEY"),
    ],
)
def test_a_malformed_key_stops_the_service_at_start_with_one_line(
    module: str, variable: str
) -> None:
    secret_looking = "c2VjcmV0LWJ1dC10b28tc2hvcnQ="  # base64, 22 bytes
    env = {
        "PATH": "/usr/bin",
        "HELPDESK_JWT_PRIVATE_KEY": "unused",
        "HELPDESK_NOTIFIER_SEAL_PUBLIC_KEY": sealing.generate()[1],
        "HELPDESK_NOTIFIER_SEAL_PRIVATE_KEY": sealing.generate()[0],
        variable: secret_looking,
    }
    result = subprocess.run(
        [sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"configuration error: {variable}: ")
    assert "32 bytes" in line
    assert secret_looking not in line


def test_seal_keys_create_rotate_retire(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keys = tmp_path / "keys"
    assert cli(["seal-keys", "create", str(keys)]) == 0
    private = keys / sealing.PRIVATE_FILE
    first = private.read_text().strip()
    out = capsys.readouterr().out
    assert f"HELPDESK_NOTIFIER_SEAL_PUBLIC_KEY={sealing.public_of(first)}" in out
    assert first not in out  # the private key is never printed
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert cli(["seal-keys", "create", str(keys)]) == 0  # kept, not replaced
    assert private.read_text().strip() == first

    sealed_before = Sealer(sealing.public_of(first)).seal(TOKEN)
    assert cli(["seal-keys", "rotate", str(keys)]) == 0
    second = private.read_text().strip()
    previous = (keys / sealing.PREVIOUS_FILE).read_text().strip()
    assert (previous, second != first) == (first, True)
    assert (keys / sealing.PUBLIC_FILE).read_text().strip() == sealing.public_of(second)
    assert Opener([second, previous]).open(sealed_before) == TOKEN

    assert cli(["seal-keys", "retire", str(keys)]) == 0
    assert not (keys / sealing.PREVIOUS_FILE).exists()
    assert cli(["seal-keys", "rotate", str(tmp_path / "empty")]) == 1


def test_error_descriptions_never_quote_the_input() -> None:
    class Event(BaseModel):
        count: int

    secret = "tok_4f9a2c"  # short: pydantic quotes it whole
    with pytest.raises(ValidationError) as failed:
        Event.model_validate({"count": secret})
    assert secret in repr(failed.value)  # what repr(exc) would have logged
    described = describe_error(failed.value)
    assert secret not in described
    assert "count" in described


def _is_key(value: str) -> bool:
    try:
        Sealer(value).seal("probe")
    except ValueError:
        return False
    return True
