"""The signature on the IdP's (or the federation's) SAML metadata (docs/sso.md,
"SAML", rule 1). With HELPDESK_SAML_IDP_METADATA_CERT set, metadata is used only
when all of these hold, checked before pysaml2 reads any of it:

1. It parses with defusedxml (no entity declarations, no external references),
   and its root is an EntityDescriptor or an EntitiesDescriptor.
2. The root's first child element is its ds:Signature, with one Reference, to the
   root: `URI="#<the root's ID>"` (an ID no other element has) or `URI=""` (the
   whole document). A signed element nested in an unsigned root, which a
   federation's aggregate may hold, does not count.
3. xmlsec1 verifies exactly that signature (it starts at it: `--node-xpath`)
   with the key of the configured certificate, never a key the document carries,
   and follows references into this document only.
4. Its `validUntil`, if it has one, is still ahead.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime
from typing import IO
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
ROOTS = (f"{{{MD}}}EntityDescriptor", f"{{{MD}}}EntitiesDescriptor")
# The root's own signature: its first child element (rule 2).
ROOT_SIGNATURE = f"/*/*[1][local-name()='Signature' and namespace-uri()='{DS}']"


class MetadataRefused(Exception):
    """Why the metadata is not used: logged; the person hears that the
    organisation's sign-in is unavailable."""


def signed_root(xml: bytes, now: datetime) -> tuple[str, datetime | None]:
    """Rules 1, 2 and 4: the root's `namespace:name` (for xmlsec1's `--id-attr`) and
    its `validUntil`; `MetadataRefused` when one of them does not hold."""
    try:
        root = fromstring(xml)
    except (ParseError, DefusedXmlException):
        raise MetadataRefused("not well-formed XML, or it declares entities") from None
    if root.tag not in ROOTS:
        raise MetadataRefused("its root is not an EntityDescriptor or EntitiesDescriptor")
    first = next(iter(root), None)
    if first is None or first.tag != f"{{{DS}}}Signature":
        raise MetadataRefused("its root element is not signed")
    references = first.findall(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")
    root_id = root.get("ID")
    ids = [e for e in root.iter() if root_id is not None and e.get("ID") == root_id]
    covers_root = len(references) == 1 and (
        references[0].get("URI") == "" or (root_id and references[0].get("URI") == f"#{root_id}")
    )
    if not covers_root or len(ids) > 1:
        raise MetadataRefused("its signature does not cover its root element")
    valid_until = _instant(root.get("validUntil"))
    if valid_until is not None and valid_until <= now:
        raise MetadataRefused(f"it expired at {valid_until.isoformat()} (validUntil)")
    namespace, _, name = root.tag.removeprefix("{").partition("}")
    return f"{namespace}:{name}", valid_until


def _instant(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MetadataRefused("its validUntil is not a date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def verified(
    xml: bytes, *, cert_file: str, xmlsec_binary: str, now: datetime
) -> datetime | None:
    """Every rule above, or `MetadataRefused`; the metadata's `validUntil` (re-read
    it then). The caller bounds the time; xmlsec1 is ended if it runs out."""
    root_name, valid_until = signed_root(xml, now)
    with tempfile.NamedTemporaryFile(suffix=".xml") as document:
        await asyncio.to_thread(_write, document, xml)
        process = await asyncio.create_subprocess_exec(
            *(xmlsec_binary, "--verify", "--enabled-reference-uris", "empty,same-doc"),
            # The key of the configured certificate only, not one in the document's KeyInfo.
            *("--enabled-key-data", "raw-x509-cert", "--pubkey-cert-pem", cert_file),
            *("--id-attr:ID", root_name, "--node-xpath", ROOT_SIGNATURE, document.name),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, errors = await process.communicate()
        finally:
            if process.returncode is None:  # the caller's time ran out
                process.kill()
                await process.wait()
    if process.returncode != 0 or b"OK" not in errors.splitlines():
        raise MetadataRefused("its signature does not verify with the configured certificate")
    return valid_until


def _write(document: IO[bytes], xml: bytes) -> None:
    document.write(xml)
    document.flush()
