"""Attachments end to end on the real system (every service a process, NATS
with its object store, PostgreSQL, the SMTP sink): upload through the API, the
checks at the edge, downloads with their headers and ranges, who may see
what, the agent's file reaching the requester by mail, and erasure."""

from __future__ import annotations

import asyncio
import email.policy
import hashlib
import io
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import nats
import pytest
from PIL import Image

from helpdesk.servicekit.blobs import NatsBlobStore
from tests.e2e.harness import System
from tests.e2e.test_tickets_flow import auth, submit, two_customers_and_an_agent, wait_mail

pytestmark = pytest.mark.e2e

PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200 + b"PE\x00\x00"


def screenshot() -> bytes:
    image = Image.new("RGB", (1280, 800), (30, 90, 160))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (37.0, 58.0, 12.0), 3: "E", 4: (23.0, 43.0, 5.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


async def upload(
    client: httpx.AsyncClient,
    token: str,
    ticket_id: str,
    *files: tuple[str, bytes, str],
    **form: str,
) -> httpx.Response:
    return await client.post(
        f"/api/v1/tickets/{ticket_id}/attachments",
        headers=auth(token),
        files=[("file", f) for f in files],
        data=form,
    )


async def removed_from_store(system: System, sha256: str) -> bool:
    nc = await nats.connect(system.servers.nats_url, **system.servers.nats_options())
    try:
        return await NatsBlobStore(nc.jetstream()).info(sha256) is None
    finally:
        await nc.close()


async def test_attachments_from_upload_to_erasure(system: System) -> None:
    tag = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=system.url, timeout=30) as client:
        maria_email, maria, _, eve, agent = await two_customers_and_an_agent(system, client, tag)
        created = await submit(
            client,
            maria,
            {"subject": f"[{tag}] Outlook", "description": "Βλ. συνημμένα.", "priority": "high"},
        )
        ticket_id = created.json()["ticket_id"]

        # The requester: a screenshot (with GPS in its EXIF) and a log file, in one request.
        log = "2026-11-26 09:14:02 ERROR Σύνδεση απέτυχε 0x800CCC0E\n".encode() * 2000
        response = await upload(
            client,
            maria,
            ticket_id,
            ("Στιγμιότυπο οθόνης.jpg", screenshot(), "image/jpeg"),
            ("outlook.log", log, "application/octet-stream"),
        )
        assert response.status_code == 201, response.text
        shot, logged = response.json()["items"]
        assert shot["content_type"] == "image/jpeg"
        assert shot["thumbnail"] is True
        assert shot["original_name"] == "Στιγμιότυπο οθόνης.jpg"
        assert (logged["content_type"], logged["size"]) == ("text/plain", len(log))
        assert logged["sha256"] == hashlib.sha256(log).hexdigest()

        # The agent sees and downloads both; the headers are the download's.
        listed = await client.get(f"/api/v1/tickets/{ticket_id}/attachments", headers=auth(agent))
        assert [a["file_name"] for a in listed.json()["items"]] == [
            "Στιγμιότυπο οθόνης.jpg",
            "outlook.log",
        ]
        url = f"/api/v1/tickets/{ticket_id}/attachments/{logged['attachment_id']}"
        got = await client.get(url, headers=auth(agent))
        assert got.status_code == 200
        assert got.content == log
        assert got.headers["etag"] == f'"{logged["sha256"]}"'
        assert got.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in got.headers["content-security-policy"]
        assert got.headers["content-disposition"].startswith("attachment;")
        picture = await client.get(
            f"/api/v1/tickets/{ticket_id}/attachments/{shot['attachment_id']}", headers=auth(agent)
        )
        assert (
            f"filename*=UTF-8''{quote('Στιγμιότυπο οθόνης.jpg')}"
            in picture.headers["content-disposition"]
        )
        stored = Image.open(io.BytesIO(picture.content))
        assert stored.size == (1280, 800)
        assert not stored.getexif()  # the GPS position never reached the store
        assert hashlib.sha256(picture.content).hexdigest() == shot["sha256"]
        thumb = await client.get(
            f"/api/v1/tickets/{ticket_id}/attachments/{shot['attachment_id']}/thumbnail",
            headers=auth(maria),
        )
        assert Image.open(io.BytesIO(thumb.content)).size == (320, 200)

        # Ranges, conditional requests.
        part = await client.get(url, headers={**auth(agent), "Range": "bytes=100-199"})
        assert part.status_code == 206
        assert part.content == log[100:200]
        assert part.headers["content-range"] == f"bytes 100-199/{len(log)}"
        tail = await client.get(url, headers={**auth(agent), "Range": "bytes=-10"})
        assert tail.content == log[-10:]
        beyond = await client.get(url, headers={**auth(agent), "Range": f"bytes={len(log)}-"})
        assert beyond.status_code == 416
        same = await client.get(url, headers={**auth(agent), "If-None-Match": got.headers["etag"]})
        assert same.status_code == 304

        # Another customer: 404 for the download, the list, and uploading.
        assert (await client.get(url, headers=auth(eve))).status_code == 404
        other = await client.get(f"/api/v1/tickets/{ticket_id}/attachments", headers=auth(eve))
        assert other.status_code == 404
        sneaky = await upload(client, eve, ticket_id, ("x.log", b"hello\n", "text/plain"))
        assert sneaky.status_code == 404

        # The edge: 25 MiB -> 413, a renamed .exe -> 415, both problem+json.
        big = await upload(
            client, maria, ticket_id, ("big.log", b"a" * (25 * 1024 * 1024), "text/plain")
        )
        assert big.status_code == 413, big.text
        assert big.headers["content-type"] == "application/problem+json"
        assert big.json()["code"] in ("file_too_large", "payload_too_large")
        exe = await upload(client, maria, ticket_id, ("screenshot.png", PE, "image/png"))
        assert exe.status_code == 415, exe.text
        assert exe.json()["code"] == "unsupported_type"

        # The same bytes twice are stored once (content-addressed), as two attachments.
        again = await upload(client, maria, ticket_id, ("copy.log", log, "text/plain"))
        assert again.json()["items"][0]["sha256"] == logged["sha256"]

        # An internal note's file: agents only.
        note = await upload(
            client, agent, ticket_id, ("notes.txt", b"internal\n", "text/plain"), internal="true"
        )
        note_url = (
            f"/api/v1/tickets/{ticket_id}/attachments/{note.json()['items'][0]['attachment_id']}"
        )
        assert (await client.get(note_url, headers=auth(maria))).status_code == 404
        assert (await client.get(note_url, headers=auth(agent))).status_code == 200

        # The agent replies with a file: the requester receives it by mail.
        guide = "Βήματα: 1) Ρυθμίσεις 2) Λογαριασμοί\n".encode() * 10
        reply = await client.post(
            f"/api/v1/tickets/{ticket_id}/messages", headers=auth(agent), json={"body": "Δείτε το."}
        )
        assert reply.status_code == 201, reply.text
        sent = await upload(
            client,
            agent,
            ticket_id,
            ("οδηγίες.txt", guide, "text/plain"),
            message_id=reply.json()["message_id"],
        )
        assert sent.status_code == 201, sent.text
        mail = await wait_mail(system, maria_email, "οδηγίες.txt")
        message = email.message_from_bytes(mail.as_bytes(), policy=email.policy.default)
        [attachment] = list(message.iter_attachments())  # type: ignore[attr-defined]
        assert attachment.get_filename() == "οδηγίες.txt"
        assert attachment.get_payload(decode=True) == guide

        # Erasure: customers may not; an agent removes the log with a reason. The copy
        # on this ticket still holds the bytes, so they stay until it goes too.
        remove: dict[str, Any] = {"reason": "contains a password"}
        refused = await client.request("DELETE", url, headers=auth(maria), json=remove)
        assert refused.status_code == 403
        removed = await client.request("DELETE", url, headers=auth(agent), json=remove)
        assert removed.json()["removed"] is True
        assert (await client.get(url, headers=auth(agent))).status_code == 410
        copy_url = (
            f"/api/v1/tickets/{ticket_id}/attachments/{again.json()['items'][0]['attachment_id']}"
        )
        assert (await client.get(copy_url, headers=auth(agent))).content == log
        await client.request("DELETE", copy_url, headers=auth(agent), json=remove)
        for _ in range(100):
            if await removed_from_store(system, logged["sha256"]):
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("the eraser did not delete the bytes")
        detail = await client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(maria))
        kinds = [entry["kind"] for entry in detail.json()["timeline"]]
        assert kinds.count("TicketAttachmentRemoved") == 2
