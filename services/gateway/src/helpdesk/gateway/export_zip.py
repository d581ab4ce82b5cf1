"""A ZIP archive written while it is sent, with the standard library alone.

`zipfile` writes onto a file object that cannot seek (`_Pending`): it then puts
each entry's sizes and CRC in a data descriptor after the entry instead of going
back to its header, and the central directory at the end. `_Pending` keeps only
what was written since the bytes were last taken, so an archive of any size goes
out holding about one piece at a time: one entry given whole (`Entry.data`: a
page of JSON), or one chunk of an entry given as chunks (`Entry.chunks`: a file
from the object store, a JSON array written page by page).
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

# Windows will not create these names, whatever their extension.
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
NAME_MAX = 120  # characters of one path part; the whole path stays well within limits


@dataclass(frozen=True)
class Entry:
    """One file of the archive: its bytes whole, or as chunks to write as they come."""

    name: str
    data: bytes | None = None
    chunks: AsyncIterable[bytes] | None = None
    size: int | None = None  # of `chunks`, when known: over 2 GiB needs ZIP64 up front


class _Pending:
    """The file object `zipfile` writes to: no seek, no tell; keeps what was written
    until `take` hands it on, and remembers the most it ever held."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0
        self.largest = 0

    def write(self, data: bytes, /) -> int:
        self._parts.append(bytes(data))
        self._size += len(data)
        self.largest = max(self.largest, self._size)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self._size = 0
        return data


class ZipStream:
    """Entries in, the archive's bytes out as they are made. `largest_buffered`: the
    most bytes held between two takes (what a test bounds)."""

    def __init__(self, when: datetime) -> None:
        self._pending = _Pending()
        self._zip = zipfile.ZipFile(self._pending, mode="w", compression=zipfile.ZIP_DEFLATED)
        # ZIP times are local wall-clock times without a zone; 1980 is their epoch.
        self._date_time = max(when.timetuple()[:6], (1980, 1, 1, 0, 0, 0))

    @property
    def largest_buffered(self) -> int:
        return self._pending.largest

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self._date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16  # a plain file, readable by all who unpack it
        return info

    async def write(self, entry: Entry) -> AsyncIterator[bytes]:
        """Write one entry; yield the archive's bytes as they come out."""
        if entry.chunks is None:
            self._zip.writestr(self._info(entry.name), entry.data or b"")
            yield self._pending.take()
            return
        large = entry.size is None or entry.size >= zipfile.ZIP64_LIMIT
        with self._zip.open(self._info(entry.name), mode="w", force_zip64=large) as sink:
            async for chunk in entry.chunks:
                sink.write(chunk)
                piece = self._pending.take()
                if piece:
                    yield piece
        yield self._pending.take()

    def finish(self) -> bytes:
        """The central directory: the archive's last bytes."""
        self._zip.close()
        return self._pending.take()


async def zipped(entries: AsyncIterable[Entry], stream: ZipStream) -> AsyncIterator[bytes]:
    """The whole archive of `entries`, piece by piece (empty pieces skipped)."""
    async for entry in entries:
        async for piece in stream.write(entry):
            if piece:
                yield piece
    yield stream.finish()


def safe_name(name: str) -> str:
    """One part of a path inside the archive: no folders, no control or format
    characters, no leading dots, nothing Windows refuses; at most NAME_MAX characters
    (the extension kept)."""
    name = unicodedata.normalize("NFC", name)
    name = "".join(
        "_" if c in '/\\:*?"<>|' or unicodedata.category(c) in ("Cc", "Cf") else c for c in name
    )
    name = name.strip(" .") or "file"
    if _RESERVED.match(name):
        name = "_" + name
    if len(name) > NAME_MAX:
        suffix = PurePosixPath(name).suffix[:20]
        name = name[: NAME_MAX - len(suffix)] + suffix
    return name


def unique_name(name: str, taken: set[str]) -> str:
    """`name`, or `name (2).ext`, `name (3).ext`, ... if a file of that name is in
    `taken` already (compared without case, as Windows and macOS do); records it."""
    path = PurePosixPath(name)
    candidate, n = name, 1
    while candidate.casefold() in taken:
        n += 1
        candidate = f"{path.stem} ({n}){path.suffix}"
    taken.add(candidate.casefold())
    return candidate
