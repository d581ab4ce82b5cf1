"""The optional malware scan: ClamAV's clamd over TCP (`HELPDESK_CLAMD_URL`,
e.g. `tcp://clamav:3310`), with its INSTREAM command.

Protocol: `zINSTREAM\\0`, then the file as chunks each prefixed with its
length (4 bytes, big-endian), then a zero length; clamd answers one line,
`stream: OK`, `stream: <signature> FOUND` or `… ERROR`, NUL-terminated.
"""

from __future__ import annotations

import asyncio
import struct
from typing import BinaryIO
from urllib.parse import urlsplit

from helpdesk.servicekit.attachments.files import FileRefused

CHUNK = 64 * 1024


class ScanUnavailable(Exception):
    """clamd could not be asked: the upload is not taken now (503, try again)."""


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "tcp" or not parts.hostname:
        raise ValueError("HELPDESK_CLAMD_URL must look like tcp://host:3310")
    return parts.hostname, parts.port or 3310


async def scan(url: str, source: BinaryIO, seconds: float = 30.0) -> None:
    """Returns when clamd says the file is clean; `FileRefused` (422) when it is not."""
    host, port = address(url)
    try:
        async with asyncio.timeout(seconds):  # not wait_for: see servicekit.waits
            reader, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError) as exc:
        raise ScanUnavailable(f"clamd at {host}:{port}: {exc!r}") from None
    try:
        writer.write(b"zINSTREAM\0")
        source.seek(0)
        while chunk := source.read(CHUNK):
            writer.write(struct.pack(">I", len(chunk)) + chunk)
            async with asyncio.timeout(seconds):
                await writer.drain()
        writer.write(struct.pack(">I", 0))
        async with asyncio.timeout(seconds):
            await writer.drain()
            answer = await reader.readuntil(b"\0")
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
        raise ScanUnavailable(f"clamd at {host}:{port}: {exc!r}") from None
    finally:
        writer.close()
    verdict = answer.rstrip(b"\0").decode(errors="replace").removeprefix("stream:").strip()
    if verdict == "OK":
        return
    if verdict.endswith("FOUND"):
        raise FileRefused(422, "malware_found", "the malware scan refused this file")
    raise ScanUnavailable(f"clamd: {verdict[:200]}")
