"""A real SAML 2.0 identity provider for the tests: Debian's SimpleSAMLphp 1.19 on
PHP's own server, from a folder of its own (SIMPLESAMLPHP_CONFIG_DIR), signing its
responses and assertions with a key made here; users and attributes from
`exampleauth:UserPass` (docs/sso.md; TOOLING.md)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from helpdesk.devstack.servers import stop_process, wait_for_port
from tests.sso.certificates import certificate, write_key, write_pem

WWW = Path("/usr/share/simplesamlphp/www")


def simplesamlphp_available() -> bool:
    return WWW.exists() and shutil.which("php") is not None and shutil.which("xmlsec1") is not None


def _php(value: Any) -> str:
    """A PHP literal of a str, list or dict (enough for SimpleSAMLphp's arrays)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, list):
        return "[" + ", ".join(_php(v) for v in value) + "]"
    return "[" + ", ".join(f"{_php(k)} => {_php(v)}" for k, v in value.items()) + "]"


def signing_pair(folder: Path, name: str = "idp", subject: str = "helpdesk test IdP") -> Path:
    """`<name>.pem` and its self-signed `<name>.crt` in `folder`; the certificate's path."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write_pem(folder / f"{name}.crt", certificate(subject, key.public_key(), subject, key))
    write_key(folder / f"{name}.pem", key, serialization.PrivateFormat.TraditionalOpenSSL)
    return folder / f"{name}.crt"


def metadata_url(port: int) -> str:
    """The IdP's metadata (also its default entity ID), served at this port."""
    return f"http://127.0.0.1:{port}/saml2/idp/metadata.php"


@dataclass
class SimpleSamlPhp:
    port: int
    folder: Path
    entity_id: str
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(
        cls,
        port: int,
        sp_entity_id: str,
        acs_url: str,
        users: dict[str, dict[str, list[str]]],
        *,
        entity_id: str | None = None,
        keys_from: Path | None = None,
        assertion_lifetime: int = 300,
        metadata_signer: Path | None = None,
    ) -> SimpleSamlPhp:
        """`users`: "login:password" -> attributes. `entity_id` and `keys_from` make
        a twin of another instance (the same issuer and key): the expired-assertion
        test's IdP, whose assertions end `assertion_lifetime` seconds from now.
        `metadata_signer`: the folder of `signing_pair(folder, "federation")`, whose
        key signs the metadata the IdP publishes, as a federation signs its own."""
        folder = Path(tempfile.mkdtemp(prefix="helpdesk-saml-idp-"))
        for sub in ("config", "metadata", "cert", "log", "data", "tmp", "sessions"):
            (folder / sub).mkdir()
        if keys_from is None:
            signing_pair(folder / "cert")
        else:
            for name in ("idp.crt", "idp.pem"):
                shutil.copyfile(keys_from / "cert" / name, folder / "cert" / name)
        url = f"http://127.0.0.1:{port}"
        entity_id = entity_id or metadata_url(port)
        config = {
            "baseurlpath": f"{url}/",
            "certdir": f"{folder}/cert/",
            "loggingdir": f"{folder}/log/",
            "datadir": f"{folder}/data/",
            "tempdir": str(folder / "tmp"),
            "metadatadir": f"{folder}/metadata/",
            "technicalcontact_name": "Helpdesk tests",
            "technicalcontact_email": "tests@example.org",
            "secretsalt": "helpdesk-test-salt-0123456789",
            "auth.adminpassword": "helpdesk-test-admin",
            "admin.protectindexpage": False,
            "admin.protectmetadata": False,
            "timezone": "UTC",
            "logging.handler": "file",
            "logging.logfile": "simplesamlphp.log",
            "enable.saml20-idp": True,
            "module.enable": {"exampleauth": True, "core": True, "saml": True, "admin": True},
            "session.cookie.secure": False,
            "session.cookie.samesite": "Lax",
            "store.type": "phpsession",
            "session.phpsession.savepath": f"{folder}/sessions",
            "language.available": ["en"],
            "language.default": "en",
            "metadata.sources": [{"type": "flatfile"}],
        }
        if metadata_signer is not None:
            for name in ("federation.crt", "federation.pem"):
                shutil.copyfile(metadata_signer / name, folder / "cert" / name)
            config |= {
                "metadata.sign.enable": True,
                "metadata.sign.privatekey": "federation.pem",
                "metadata.sign.certificate": "federation.crt",
            }
        (folder / "config" / "config.php").write_text(f"<?php\n$config = {_php(config)};\n")
        sources = {"admin": ["core:AdminPassword"], "users": {0: "exampleauth:UserPass", **users}}
        (folder / "config" / "authsources.php").write_text(f"<?php\n$config = {_php(sources)};\n")
        idp = {
            "host": "__DEFAULT__",
            "privatekey": "idp.pem",
            "certificate": "idp.crt",
            "auth": "users",
            "saml20.sign.assertion": True,
            "saml20.sign.response": True,
            "assertion.lifetime": assertion_lifetime,
        }
        (folder / "metadata" / "saml20-idp-hosted.php").write_text(
            f"<?php\n$metadata[{_php(entity_id)}] = {_php(idp)};\n"
        )
        sp = {"AssertionConsumerService": acs_url, "NameIDFormat": _TRANSIENT}
        (folder / "metadata" / "saml20-sp-remote.php").write_text(
            f"<?php\n$metadata[{_php(sp_entity_id)}] = {_php(sp)};\n"
        )
        shutil.chown(folder / "sessions", "root")
        process = subprocess.Popen(
            ["php", "-S", f"127.0.0.1:{port}", "-t", str(WWW)],
            env={**os.environ, "SIMPLESAMLPHP_CONFIG_DIR": str(folder / "config")},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(port, timeout=15)
        return cls(port, folder, entity_id, process)

    def stop(self) -> None:
        stop_process(self.process)
        shutil.rmtree(self.folder, ignore_errors=True)


_TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"


async def sign_in_at(
    idp: httpx.AsyncClient, login_url: str, user: str, password: str
) -> dict[str, str]:
    """What a person does at the IdP: follow the redirect, fill its login form; the
    form it answers with (auto-posted by a browser to the helpdesk): action and fields."""
    url = login_url
    response = await idp.get(url)
    for _ in range(6):
        if response.is_redirect:
            url = urljoin(url, response.headers["location"])
            response = await idp.get(url)
            continue
        break
    form = re.search(r'<form[^>]*action="([^"]+)"', response.text)
    assert form, response.text[:400]
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', response.text))
    fields.update({"username": user, "password": password})
    answer = await idp.post(urljoin(url, form.group(1).replace("&amp;", "&")), data=fields)
    posted = re.search(r'<form[^>]*action="([^"]+)"', answer.text)
    assert posted, answer.text[:400]
    assert "SAMLResponse" in answer.text, answer.text[:400]
    values = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', answer.text))
    return {"action": posted.group(1).replace("&amp;", "&"), **values}
