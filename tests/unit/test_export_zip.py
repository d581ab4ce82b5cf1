"""The export's ZIP writer (gateway/export_zip.py): a valid archive, written while
it is sent, holding about one chunk at a time whatever the size of its files."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from helpdesk.gateway.export_zip import Entry, ZipStream, safe_name, unique_name, zipped

CHUNK = 64 * 1024
CHUNKS = 160  # 10 MiB through the writer


async def generated(count: int, seed: bytes = b"export") -> AsyncIterator[bytes]:
    """Bytes that do not compress (a photo's), made as they are asked for."""
    for n in range(count):
        block = b"".join(
            hashlib.sha256(seed + n.to_bytes(4) + i.to_bytes(4)).digest()
            for i in range(CHUNK // 32)
        )
        yield block


async def entries() -> AsyncIterator[Entry]:
    yield Entry("README.txt", "Τα δεδομένα σας\n".encode())
    yield Entry(
        "files/HD-2026-000001/φωτογραφία.jpg", chunks=generated(CHUNKS), size=CHUNKS * CHUNK
    )
    yield Entry("mails.json", chunks=generated(2, b"json"))  # size unknown: ZIP64 up front


async def test_the_archive_reads_back_whole() -> None:
    stream = ZipStream(datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    pieces = [piece async for piece in zipped(entries(), stream)]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(pieces)))

    assert archive.testzip() is None  # every CRC matches
    assert archive.namelist() == [
        "README.txt",
        "files/HD-2026-000001/φωτογραφία.jpg",
        "mails.json",
    ]
    assert archive.read("README.txt").decode() == "Τα δεδομένα σας\n"
    expected = b"".join([chunk async for chunk in generated(CHUNKS)])
    assert archive.read("files/HD-2026-000001/φωτογραφία.jpg") == expected
    assert archive.getinfo("mails.json").file_size == 2 * CHUNK
    assert archive.getinfo("README.txt").date_time == (2026, 3, 1, 9, 30, 0)
    assert len(pieces) > CHUNKS  # sent as it was written, not at the end


async def test_memory_stays_at_about_one_chunk() -> None:
    stream = ZipStream(datetime.now(UTC))
    sent = 0
    async for piece in zipped(entries(), stream):
        sent += len(piece)
    assert sent > CHUNKS * CHUNK  # 10 MiB went through
    # Never more than one chunk (deflate may add a little to bytes that do not
    # compress) plus an entry's header: not a few, and nothing like the file.
    assert stream.largest_buffered < 2 * CHUNK


def test_names_are_safe_parts_of_a_path() -> None:
    assert safe_name("../../etc/passwd") == "_.._etc_passwd"
    assert safe_name("C:\\Users\\report.pdf") == "C__Users_report.pdf"
    assert safe_name("a\x00b\u202ec.txt") == "a_b_c.txt"
    assert safe_name(" .hidden ") == "hidden"
    assert safe_name("CON.txt") == "_CON.txt"
    assert safe_name("...") == "file"
    long = safe_name("α" * 300 + ".pdf")
    assert len(long) == 120
    assert long.endswith(".pdf")


def test_a_repeated_name_gets_a_number() -> None:
    taken: set[str] = set()
    assert [unique_name(n, taken) for n in ("a.txt", "A.txt", "a.txt", "b")] == [
        "a.txt",
        "A (2).txt",
        "a (3).txt",
        "b",
    ]
