"""Keys for development and tests: Ed25519 key pairs for signing access tokens,
the notifier's sealing key pair, and the NKEY seed of every NATS identity with
the server's authorization block."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from helpdesk.servicekit import nats_auth, sealing
from helpdesk.servicekit.privacy import KeyEncryptionKeys


def generate_keypair() -> tuple[str, str]:
    """(private PEM, public PEM)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def load_or_create_keypair(directory: Path) -> tuple[str, str]:
    """Keys kept under var/ so sessions survive a restart of `make run`."""
    private_path, public_path = directory / "jwt-private.pem", directory / "jwt-public.pem"
    if not private_path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        private, public = generate_keypair()
        private_path.write_text(private)
        private_path.chmod(0o600)
        public_path.write_text(public)
    return private_path.read_text(), public_path.read_text()


def load_or_create_seal_keys(directory: Path) -> tuple[str, str]:
    """The notifier's sealing key pair (private, public), kept under var/ so tokens
    sealed before a restart still open after it (`helpdesk seal-keys` writes the same
    files)."""
    private_path, _ = sealing.create(directory)
    private = private_path.read_text().strip()
    return private, sealing.public_of(private)


def load_or_create_privacy_kek(directory: Path) -> str:
    """The key-encryption key of the personal-data keys (docs/privacy.md), kept under
    var/: with a new one at every start, nothing sealed before could be opened."""
    path = directory / "privacy.kek"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(KeyEncryptionKeys.generate())
        path.chmod(0o600)
    return path.read_text().strip()


def load_or_create_mail_reply_key(directory: Path) -> str:
    """The HMAC key of the reply addresses (mailgate and notifier), kept under var/ so
    the reply addresses in mails already sent stay valid across restarts."""
    path = directory / "mail-reply.key"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def load_or_create_nats_keys(
    directory: Path,
    config_file: Path,
    permissions: Mapping[str, nats_auth.Permissions] = nats_auth.IDENTITIES,
) -> dict[str, Path]:
    """The seed file of every identity (created once, kept under var/), and the
    nats-server authorization block naming their public keys in `config_file`."""
    seeds = nats_auth.ensure_seeds(directory, permissions)
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(
        nats_auth.render_authorization(nats_auth.users_in(directory), permissions)
    )
    return seeds
