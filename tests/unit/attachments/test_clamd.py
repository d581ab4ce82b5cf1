"""The ClamAV hook's protocol against a tiny clamd of our own: a real TCP server
that reads INSTREAM as clamd does and answers like it. (A real clamd cannot
run here: its signatures need the internet; docs/attachments.md.)"""

from __future__ import annotations

import asyncio
import io
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from helpdesk.contracts.attachments import Scan
from helpdesk.servicekit.attachments import FileRefused, prepare
from helpdesk.servicekit.attachments.clamd import ScanUnavailable, address, scan

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@asynccontextmanager
async def fake_clamd(received: list[bytes]) -> AsyncIterator[str]:
    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        command = await reader.readuntil(b"\0")
        assert command == b"zINSTREAM\0"
        data = b""
        while True:
            (length,) = struct.unpack(">I", await reader.readexactly(4))
            if length == 0:
                break
            data += await reader.readexactly(length)
        received.append(data)
        if b"CLOSE-WITHOUT-ANSWER" in data:
            writer.close()
            return
        verdict = b"Eicar-Test-Signature FOUND" if b"EICAR" in data else b"OK"
        writer.write(b"stream: " + verdict + b"\0")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(session, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"tcp://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


async def test_a_clean_file_is_streamed_whole_and_passes() -> None:
    received: list[bytes] = []
    data = b"2026-11-26 ERROR something\n" * 10_000  # several INSTREAM chunks
    async with fake_clamd(received) as url:
        await scan(url, io.BytesIO(data))
        prepared = await prepare("app.log", io.BytesIO(data), max_bytes=10**7, clamd_url=url)
    assert received == [data, data]
    assert prepared.scan is Scan.CLEAN


async def test_a_file_clamd_flags_is_refused() -> None:
    async with fake_clamd([]) as url:
        with pytest.raises(FileRefused) as refused:
            await prepare("eicar.txt", io.BytesIO(EICAR), max_bytes=10**6, clamd_url=url)
    assert (refused.value.status, refused.value.code) == (422, "malware_found")


async def test_no_answer_or_no_clamd_means_not_now() -> None:
    async with fake_clamd([]) as url:
        with pytest.raises(ScanUnavailable):
            await scan(url, io.BytesIO(b"CLOSE-WITHOUT-ANSWER"))
    with pytest.raises(ScanUnavailable):
        await scan(url, io.BytesIO(b"data"), seconds=2)  # the server is gone


def test_the_url_names_a_tcp_address() -> None:
    assert address("tcp://clamav:3310") == ("clamav", 3310)
    with pytest.raises(ValueError, match="tcp://"):
        address("unix:///run/clamd.sock")
