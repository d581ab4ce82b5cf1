"""The API upload's streaming multipart reader: any chunking, fields and files,
the per-file limit hit while the file arrives, malformed bodies refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from helpdesk.gateway.multipart import TooLarge, boundary_of, read
from helpdesk.gateway.problems import ProblemError


def body(files: list[tuple[str, bytes]], **fields: str) -> tuple[bytes, bytes]:
    request = httpx.Request(
        "POST",
        "http://x",
        files=[("file", (name, data, "application/octet-stream")) for name, data in files],
        data=fields,
    )
    return request.read(), boundary_of(request.headers["content-type"])


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.mark.parametrize("size", [1, 7, 71, 4096, 1 << 20])
async def test_files_and_fields_survive_any_chunking(size: int) -> None:
    log = b"line\r\n--not-a-boundary\r\n" * 300
    raw, boundary = body([("Οθόνη.png", b"\x89PNG..."), ("app.log", log)], internal="true")
    received = await read(chunked(raw, size), boundary, max_file_bytes=10_000, max_files=10)
    try:
        assert received.fields == {"internal": "true"}
        assert [(f.field, f.filename, f.size) for f in received.files] == [
            ("file", "Οθόνη.png", 7),
            ("file", "app.log", len(log)),
        ]
        assert received.files[1].file.read() == log
    finally:
        received.close()


async def test_a_file_over_the_limit_stops_the_read() -> None:
    raw, boundary = body([("big.log", b"x" * 5000)])
    seen = 0

    async def counted() -> AsyncIterator[bytes]:
        nonlocal seen
        async for chunk in chunked(raw, 100):
            seen += len(chunk)
            yield chunk

    with pytest.raises(TooLarge):
        await read(counted(), boundary, max_file_bytes=1000, max_files=10)
    assert seen < 1300  # refused as the file arrived, not after the body


async def test_malformed_bodies_and_too_many_files_are_refused() -> None:
    raw, boundary = body([("a.log", b"abc")])
    with pytest.raises(ProblemError) as truncated:
        await read(chunked(raw[:-20], 64), boundary, max_file_bytes=100, max_files=10)
    assert truncated.value.status == 400
    many, boundary = body([(f"{i}.log", b"x") for i in range(3)])
    with pytest.raises(ProblemError) as too_many:
        await read(chunked(many, 64), boundary, max_file_bytes=100, max_files=2)
    assert too_many.value.code == "too_many_files"
    with pytest.raises(ProblemError) as not_multipart:
        boundary_of("application/json")
    assert not_multipart.value.status == 415
