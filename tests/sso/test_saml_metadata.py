"""The signature on the SAML metadata (docs/sso.md, "SAML", rule 1), with the real
xmlsec1 and the metadata the real SimpleSAMLphp IdP publishes, signed by the tests'
"federation" key (the SAML sign-ins of test_saml_sign_in.py all read it this way).
Each way of passing off other metadata is refused in its own test."""

from __future__ import annotations

import contextlib
import re
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpdesk.identity.adapters.saml import SamlServiceProvider
from helpdesk.identity.adapters.saml_metadata import MetadataRefused, verified
from helpdesk.identity.domain.errors import DirectoryUnavailable
from helpdesk.identity.settings import Settings
from helpdesk.servicekit.sealing import generate
from tests.eventually import eventually
from tests.sso.simplesaml import SimpleSamlPhp, signing_pair

pytestmark = pytest.mark.integration

Idps = tuple[SimpleSamlPhp, SimpleSamlPhp]
XMLSEC = "/usr/bin/xmlsec1"
ENTITY = "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor"
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def published(saml_idp: Idps) -> str:
    """The IdP's metadata as it publishes it: signed with the federation's key."""
    response = httpx.get(f"{saml_idp[0].url}/saml2/idp/metadata.php", timeout=15)
    response.raise_for_status()
    assert "<ds:Signature" in response.text
    return response.text


@pytest.fixture(scope="module")
def intruder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Someone else's key and self-signed certificate (`federation.pem`, `.crt`)."""
    folder = tmp_path_factory.mktemp("saml-intruder")
    signing_pair(folder, "federation", "helpdesk test federation")  # the same name
    return folder


async def check(xml: str, federation: Path, now: datetime = NOW) -> datetime | None:
    cert = str(federation / "federation.crt")
    return await verified(xml.encode(), cert_file=cert, xmlsec_binary=XMLSEC, now=now)


def signed(xml: str, signer: Path) -> str:
    """`xml` (whose root carries a signature) signed again by `signer`'s key, with its
    certificate in KeyInfo, as anyone with a key and xmlsec1 can."""
    template = re.sub(r"<ds:DigestValue>[^<]*</", "<ds:DigestValue></", xml)
    template = re.sub(r"<ds:SignatureValue>[^<]*</", "<ds:SignatureValue></", template)
    key_info = "<ds:KeyInfo><ds:X509Data/></ds:KeyInfo>"  # xmlsec1 puts the signer's in
    template = re.sub(r"<ds:KeyInfo>.*?</ds:KeyInfo>", key_info, template, count=1, flags=re.S)
    with tempfile.TemporaryDirectory() as folder:
        source, output = Path(folder) / "in.xml", Path(folder) / "out.xml"
        source.write_text(template)
        key = f"{signer / 'federation.pem'},{signer / 'federation.crt'}"
        subprocess.run(
            [
                XMLSEC,
                "--sign",
                "--privkey-pem",
                key,
                "--id-attr:ID",
                ENTITY,
                *("--output", output, source),
            ],
            check=True,
            capture_output=True,
        )
        return output.read_text()


def with_valid_until(xml: str, moment: datetime) -> str:
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return re.sub(
        r"<md:EntityDescriptor ", f'<md:EntityDescriptor validUntil="{stamp}" ', xml, count=1
    )


async def test_the_metadata_the_federation_signed_is_used(
    published: str, saml_federation: Path
) -> None:
    assert await check(published, saml_federation) is None  # no validUntil: kept


async def test_metadata_signed_by_another_key_is_refused(
    published: str, saml_federation: Path, intruder: Path
) -> None:
    with pytest.raises(MetadataRefused, match="does not verify"):
        await check(published, intruder)


async def test_changed_metadata_is_refused(published: str, saml_federation: Path) -> None:
    # The sign-in sent elsewhere: its signature no longer holds.
    changed = re.sub(
        r'(SingleSignOnService[^>]*Location=")[^"]*', r"\1https://evil.example", published
    )
    assert changed != published
    with pytest.raises(MetadataRefused, match="does not verify"):
        await check(changed, saml_federation)


async def test_changed_metadata_signed_again_with_the_signers_certificate_inside_is_refused(
    published: str, saml_federation: Path, intruder: Path
) -> None:
    # The intruder's certificate travels in KeyInfo: only the configured one counts.
    changed = published.replace("dimitra", "intruder").replace("saml2/idp/SSOService", "evil")
    forged = signed(changed, intruder)
    assert await check(forged, intruder) is None  # a real signature, by the wrong key
    with pytest.raises(MetadataRefused, match="does not verify"):
        await check(forged, saml_federation)


async def test_metadata_without_its_signature_is_refused(
    published: str, saml_federation: Path
) -> None:
    bare = re.sub(r"<ds:Signature.*?</ds:Signature>", "", published, flags=re.S)
    with pytest.raises(MetadataRefused, match="not signed"):
        await check(bare, saml_federation)


async def test_the_signed_metadata_wrapped_in_an_unsigned_aggregate_is_refused(
    published: str, saml_federation: Path
) -> None:
    # A nested signed entity beside the intruder's own: the root is not signed.
    body = re.sub(r"^<\?xml[^>]*\?>\s*", "", published)
    intruder_idp = re.sub(r"<ds:Signature.*?</ds:Signature>", "", body, flags=re.S).replace(
        'entityID="', 'entityID="https://evil.example/'
    )
    aggregate = (
        '<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">'
        f"{intruder_idp}{body}</md:EntitiesDescriptor>"
    )
    with pytest.raises(MetadataRefused, match="not signed"):
        await check(aggregate, saml_federation)


async def test_expired_metadata_is_refused_and_unexpired_is_read_again_after_its_date(
    published: str, saml_federation: Path
) -> None:
    later = NOW + timedelta(days=7)
    assert await check(
        signed(with_valid_until(published, later), saml_federation), saml_federation
    ) == later.replace(microsecond=0)
    expired = signed(with_valid_until(published, NOW - timedelta(hours=1)), saml_federation)
    with pytest.raises(MetadataRefused, match="expired"):
        await check(expired, saml_federation)


async def test_metadata_declaring_entities_is_refused(saml_federation: Path) -> None:
    bomb = (
        '<!DOCTYPE md [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&b;"/>'
    )
    with pytest.raises(MetadataRefused, match="entities"):
        await check(bomb, saml_federation)


def identity_settings(metadata_url: str, cert: Path) -> Settings:
    values: dict[str, Any] = {
        "jwt_private_key": "unused",
        "notifier_seal_public_key": generate()[1],
        "saml_idp_metadata_url": metadata_url,
        "saml_idp_metadata_cert": str(cert / "federation.crt"),
    }
    return Settings(**values)


@contextlib.contextmanager
def serving(document: str) -> Iterator[str]:
    """`document` at a URL of its own, as a federation serves its aggregate."""

    class Metadata(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = document.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Metadata)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/metadata.xml"
    finally:
        server.shutdown()
        server.server_close()


async def test_identity_signs_in_only_through_metadata_the_configured_certificate_signed(
    saml_idp: Idps, saml_federation: Path, intruder: Path
) -> None:
    published_at = f"{saml_idp[0].url}/saml2/idp/metadata.php"
    trusting = SamlServiceProvider(identity_settings(published_at, saml_federation))
    assert (await trusting.redirect("_request", "")).startswith(saml_idp[0].url)
    distrusting = SamlServiceProvider(identity_settings(published_at, intruder))
    with pytest.raises(DirectoryUnavailable):
        await distrusting.redirect("_request", "")


async def test_identity_reads_the_metadata_again_after_its_valid_until(
    saml_idp: Idps, published: str, saml_federation: Path
) -> None:
    # Served unchanged: once its validUntil has passed, the read again refuses it,
    # so no sign-in goes on with metadata that has expired.
    soon = datetime.now(UTC) + timedelta(seconds=4)
    with serving(signed(with_valid_until(published, soon), saml_federation)) as url:
        sp = SamlServiceProvider(identity_settings(url, saml_federation))
        assert (await sp.redirect("_request", "")).startswith(saml_idp[0].url)

        async def refused() -> bool:
            try:
                await sp.redirect("_request", "")
            except DirectoryUnavailable:
                return True
            return False

        await eventually(refused, timeout=15, what="the expired metadata refused")
