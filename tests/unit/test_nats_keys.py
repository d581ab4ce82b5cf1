"""NATS keys and credentials settings (docs/security.md): a missing or bad seed
file stops a process at start with one line that never shows the seed; the
operator's `helpdesk nats-keys` creates, renders, rotates and retires keys, and
what it renders is a configuration the real nats-server accepts."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from helpdesk.devstack.servers import nats_server_binary
from helpdesk.servicekit import nats_auth, sealing


def start(module: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module],
        env={"PATH": "/usr/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_service_without_nats_credentials_does_not_start() -> None:
    result = start("helpdesk.notifier", HELPDESK_NOTIFIER_SEAL_PRIVATE_KEY=sealing.generate()[0])
    assert result.returncode == 2
    assert one_line(result).startswith("configuration error: HELPDESK_NATS_CREDS: required")


def test_a_missing_seed_file_stops_the_service_at_start(tmp_path: Path) -> None:
    result = start("helpdesk.tickets", HELPDESK_NATS_CREDS=str(tmp_path / "absent.nk"))
    assert result.returncode == 2
    line = one_line(result)
    assert line.startswith("configuration error: HELPDESK_NATS_CREDS:")
    assert "No such file" in line


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"password123\n", "not an NKEY user seed"),
        (b"", "not an NKEY user seed"),
        # An account seed (SA…) is not a user's.
        (b"SAAGNJOZTRPYYXG2NJX3ZNGXYUSDYX2BWO447W3SHG6XQ7U66RWHQ3JUXM\n", "not an NKEY user seed"),
    ],
)
def test_a_malformed_seed_file_stops_the_service_at_start(
    tmp_path: Path, content: bytes, says: str
) -> None:
    path = tmp_path / "bad.nk"
    path.write_bytes(content)
    result = start("helpdesk.notifier", HELPDESK_NATS_CREDS=str(path))
    assert result.returncode == 2
    line = one_line(result)
    assert line.startswith("configuration error: HELPDESK_NATS_CREDS:")
    assert says in line


def test_a_damaged_seed_is_refused_without_showing_it(tmp_path: Path) -> None:
    seed = nats_auth.new_seed()
    damaged = seed[:-6] + (b"AAAAAA" if not seed.endswith(b"AAAAAA") else b"BBBBBB")
    path = tmp_path / "damaged.nk"
    path.write_bytes(damaged + b"\n")
    result = start("helpdesk.notifier", HELPDESK_NATS_CREDS=str(path))
    assert result.returncode == 2
    line = one_line(result)
    assert "damaged" in line
    assert damaged.decode() not in result.stderr + result.stdout
    assert damaged[:20].decode() not in result.stderr + result.stdout


def test_the_cli_needs_the_operator_key() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", "dead-letters", "notifier"],
        env={"PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert one_line(result).startswith("helpdesk: configuration error: HELPDESK_NATS_CREDS:")


def helpdesk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", *args],
        env={"PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )


def server_accepts(config: Path) -> bool:
    checked = subprocess.run(
        [nats_server_binary(), "-t", "-c", str(config)], capture_output=True, timeout=30
    )
    return checked.returncode == 0


def test_nats_keys_create_render_rotate_retire(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    created = helpdesk("nats-keys", "create", str(keys))
    assert created.returncode == 0, created.stderr
    seeds = {p.name: p.read_text().strip() for p in keys.glob("*.nk")}
    assert set(seeds) == {f"{i}.nk" for i in nats_auth.IDENTITIES}
    for name, seed in seeds.items():
        assert seed.startswith("SU")
        assert seed not in created.stdout, f"{name}: a seed was printed"
        mode = stat.S_IMODE((keys / name).stat().st_mode)
        assert mode == 0o600, f"{name} is {oct(mode)}"
    assert created.stdout.count("\tU") == len(seeds)  # the public keys, for the record

    again = helpdesk("nats-keys", "create", str(keys))
    assert {p.name: p.read_text().strip() for p in keys.glob("*.nk")} == seeds, again.stderr

    config = tmp_path / "auth.conf"
    rendered = helpdesk("nats-keys", "render", str(keys))
    assert rendered.returncode == 0, rendered.stderr
    config.write_text(rendered.stdout)
    assert server_accepts(config)
    assert rendered.stdout.count("nkey: U") == len(seeds)
    assert not any(seed in rendered.stdout for seed in seeds.values())

    rotated = helpdesk("nats-keys", "rotate", str(keys), "gateway")
    assert rotated.returncode == 0, rotated.stderr
    assert (keys / "gateway.previous.nk").read_text().strip() == seeds["gateway.nk"]
    assert (keys / "gateway.nk").read_text().strip() != seeds["gateway.nk"]
    twice = helpdesk("nats-keys", "rotate", str(keys), "gateway")
    assert twice.returncode == 1
    assert "retire" in twice.stderr
    during = helpdesk("nats-keys", "render", str(keys)).stdout
    assert during.count("nkey: U") == len(seeds) + 1  # old and new gateway keys both valid

    retired = helpdesk("nats-keys", "retire", str(keys), "gateway")
    assert retired.returncode == 0, retired.stderr
    assert not (keys / "gateway.previous.nk").exists()
    after = helpdesk("nats-keys", "render", str(keys)).stdout
    assert after.count("nkey: U") == len(seeds)
    assert nats_auth.public_key(seeds["gateway.nk"].encode()) not in after

    unknown = helpdesk("nats-keys", "rotate", str(keys), "mallory")
    assert unknown.returncode == 1


def test_the_policy_is_least_privilege() -> None:
    ids = nats_auth.IDENTITIES
    # The gateway touches JetStream only to store and read attachment bytes, to
    # read single keys of the access-token revocation list, to follow the ticket
    # events for the live pages (one ephemeral consumer: create and pull, no acks)
    # and to keep who has a ticket open (the presence bucket); never operator
    # commands.
    jetstream = {s for s in ids["gateway"].publish if s.startswith("$")}
    assert jetstream == set(nats_auth.attachment_rules(write=True)) | set(
        nats_auth.REVOCATIONS_READ
    ) | set(nats_auth.follow_rules("TICKETS")) | set(nats_auth.PRESENCE_RULES)
    assert {s for s in nats_auth.follow_rules("TICKETS") if "ACK" in s or "DURABLE" in s} == set()
    assert not any("PURGE" in s or "DELETE" in s for s in jetstream)
    assert not any(".events." in s or ".admin." in s for s in ids["gateway"].publish)
    assert set(nats_auth.OPERATOR_COMMANDS) <= set(ids["gateway"].publish_deny)
    # The notifier publishes no events; only identity and tickets publish their own.
    assert not any(".events." in s for s in ids["notifier"].publish)
    assert [s for s in ids["identity"].publish if ".events." in s] == ["identity.events.>"]
    assert [s for s in ids["tickets"].publish if ".events." in s] == ["tickets.events.>"]
    # Mail requests (a sender's address instead of a token) come from the mailgate
    # alone, which may send nothing else and publishes no events.
    for name, rules in ids.items():
        sends_mail = any(".mail." in s for s in rules.publish)
        assert sends_mail == (name == "mailgate"), name
    # Besides them it stores a mail's files in the attachments bucket (never erases).
    assert [s for s in ids["mailgate"].publish if not s.startswith(("$JS", "$O.attachments."))] == [
        "tickets.mail.*"
    ]
    mailgate_files = {s for s in ids["mailgate"].publish if s.startswith("$O.")}
    assert mailgate_files == {"$O.attachments.M.>", "$O.attachments.C.>"}
    assert not any("PURGE" in s for s in ids["mailgate"].publish)
    # Only the services answer requests.
    assert not ids["gateway"].allow_responses
    assert not ids["operator"].allow_responses
    # Every subscription is in the identity's own namespace or inbox.
    for name, rules in ids.items():
        for subject in rules.subscribe:
            assert subject.startswith((f"{name}.", f"_INBOX.{name}.")), (name, subject)
    # No wildcard grants of the whole JetStream API, and no stream deletion; the
    # one purge is the tickets service's, of the attachments bucket (erasure).
    for name, rules in ids.items():
        assert "$JS.API.>" not in rules.publish
        assert not any("DELETE" in s for s in rules.publish)
        purges = [s for s in rules.publish if "PURGE" in s]
        assert purges == (["$JS.API.STREAM.PURGE.OBJ_attachments"] if name == "tickets" else [])


def test_seed_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        paths = nats_auth.ensure_seeds(tmp_path)
    finally:
        os.umask(old)
    for path in paths.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
