"""A streaming `multipart/form-data` reader for the attachments upload.

Starlette's parser (python-multipart) handles the portal's forms; for the API
upload, which carries up to ten 20 MiB files, this reader is about five times
faster (the boundary is searched with `bytes.find` over whole chunks, not a
byte-at-a-time state machine) and stops a file at its limit as it arrives: the
413 comes when the 20 MiB + 1st byte is read, not after the whole body.

Each file part goes into a spool (1 MiB in memory, then a temporary file);
other fields are kept as text up to 64 KiB each. Malformed input is a 400.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import IO

from python_multipart.multipart import parse_options_header

from helpdesk.gateway.problems import ProblemError

SPOOL_BYTES = 1024 * 1024
FIELD_MAX = 64 * 1024
HEADERS_MAX = 16 * 1024


@dataclass
class ReceivedFile:
    field: str
    filename: str
    file: IO[bytes]
    size: int = 0


@dataclass
class Received:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[ReceivedFile] = field(default_factory=list)

    def close(self) -> None:
        for f in self.files:
            f.file.close()


class TooLarge(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _bad(detail: str) -> ProblemError:
    return ProblemError(400, "bad_request", f"Not a valid multipart/form-data body: {detail}")


def boundary_of(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary or len(boundary) > 200:
        raise ProblemError(415, "unsupported_media_type", "Send the files as multipart/form-data.")
    return bytes(boundary)


def _part_headers(raw: bytes) -> tuple[str, str | None]:
    name: str | None = None
    filename: str | None = None
    for line in raw.split(b"\r\n"):
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-disposition":
            _, options = parse_options_header(value.strip())
            if b"name" in options:
                name = options[b"name"].decode("utf-8", errors="replace")
            if b"filename" in options:
                filename = options[b"filename"].decode("utf-8", errors="replace")
    if name is None:
        raise _bad("a part without a name")
    return name, filename


async def read(
    chunks: AsyncIterator[bytes], boundary: bytes, *, max_file_bytes: int, max_files: int
) -> Received:
    """Read the whole body; `TooLarge` (with the file's name) past `max_file_bytes`."""
    received = Received()
    delimiter = b"\r\n--" + boundary
    buffer = b"\r\n"  # so the first boundary looks like every other one
    state = "preamble"
    sink: IO[bytes] | None = None
    current: ReceivedFile | None = None
    text = bytearray()
    name = ""
    try:
        async for chunk in chunks:
            buffer += chunk
            while True:
                if state == "preamble":
                    at = buffer.find(delimiter)
                    if at < 0:
                        buffer = buffer[-len(delimiter) :]
                        break
                    buffer, state = buffer[at + len(delimiter) :], "after_boundary"
                if state == "after_boundary":
                    if len(buffer) < 2:
                        break
                    if buffer.startswith(b"--"):
                        return received
                    if not buffer.startswith(b"\r\n"):
                        raise _bad("garbage after a boundary")
                    buffer, state = buffer[2:], "headers"
                if state == "headers":
                    end = buffer.find(b"\r\n\r\n")
                    if end < 0:
                        if len(buffer) > HEADERS_MAX:
                            raise _bad("part headers too long")
                        break
                    name, filename = _part_headers(buffer[:end])
                    buffer, state = buffer[end + 4 :], "data"
                    if filename is not None:
                        if len(received.files) >= max_files:
                            raise ProblemError(
                                422, "too_many_files", f"At most {max_files} files at once."
                            )
                        sink = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by Received.close
                        current = ReceivedFile(name, filename, sink)
                        received.files.append(current)
                    else:
                        sink, current, text = None, None, bytearray()
                if state == "data":
                    at = buffer.find(delimiter)
                    take = at if at >= 0 else max(len(buffer) - len(delimiter) + 1, 0)
                    data, buffer = buffer[:take], buffer[take:]
                    if current is not None and sink is not None:
                        current.size += len(data)
                        if current.size > max_file_bytes:
                            raise TooLarge(current.filename)
                        sink.write(data)
                    else:
                        text += data
                        if len(text) > FIELD_MAX:
                            raise _bad(f"the field {name!r} is too long")
                    if at < 0:
                        break
                    if current is None:
                        received.fields[name] = text.decode("utf-8", errors="replace")
                    elif sink is not None:
                        sink.seek(0)
                    buffer, state = buffer[len(delimiter) :], "after_boundary"
        raise _bad("the body ended before its last boundary")
    except BaseException:
        received.close()
        raise
