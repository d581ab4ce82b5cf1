"""What a file is and what it may be called: content sniffing and file names.

The type is decided from the bytes (the `filetype` library's signatures, and a
text check of our own for logs and the like), never from the client's
`Content-Type` or the name's extension. An allow-list: anything it does not
know is refused, executables included (a `.exe` renamed `.png` is refused).
Active content that a browser would run (HTML; SVG without scripts) is kept
but served only as `application/octet-stream` downloads; SVG with scripts or
event handlers is refused.

File names are normalised for storage and downloads (NFC, no path separators
or control/format characters, at most 255 UTF-8 bytes, extension kept); the
name as sent (NFC, control characters removed) is kept for display.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import BinaryIO

import filetype  # type: ignore[import-untyped]

from helpdesk.contracts.attachments import FILE_NAME_MAX, ORIGINAL_NAME_MAX, Handling

SNIFF_BYTES = 64 * 1024

RASTER_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})
ALLOWED = RASTER_IMAGES | {
    "image/tiff",
    "image/heic",
    "image/avif",
    "application/pdf",
    "application/zip",
    "application/gzip",
    "application/x-tar",
    "application/x-bzip2",
    "application/x-xz",
    "application/x-7z-compressed",
    "application/zstd",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/rtf",
    "video/mp4",
    "video/webm",
    "video/quicktime",
    "audio/mpeg",
    "audio/x-wav",
}
# Outlook's winmail.dat: kept as a file, never parsed (docs/mail.md).
TNEF = "application/vnd.ms-tnef"
_TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"


class FileRefused(Exception):
    """A file the helpdesk does not take: `status` and `code` for the caller's answer."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Detected:
    content_type: str
    handling: Handling


_HTML = re.compile(rb"^\s*(<!doctype\s+html|<html|<head|<body|<script|<iframe)", re.IGNORECASE)
_SVG = re.compile(rb"<svg[\s>]", re.IGNORECASE)
_ACTIVE = re.compile(rb"<script|\son[a-z]+\s*=|javascript:|<foreignobject", re.IGNORECASE)


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a character cut at the end of the sample
            return True
    # Legacy 8-bit encodings (Windows-1253 logs): mostly printable bytes.
    printable = sum(1 for b in head if b >= 0x20 or b in (9, 10, 12, 13))
    return printable >= 0.95 * len(head)


def _contains(source: BinaryIO, pattern: re.Pattern[bytes], overlap: int = 64) -> bool:
    """Scan the whole file (a chunk at a time, overlapping) for `pattern`."""
    source.seek(0)
    tail = b""
    while chunk := source.read(SNIFF_BYTES):
        if pattern.search(tail + chunk):
            return True
        tail = chunk[-overlap:]
    return False


def detect(source: BinaryIO) -> Detected:
    """The type of the file's bytes, or `FileRefused` (415) if we do not take it."""
    source.seek(0)
    head = source.read(SNIFF_BYTES)
    if head.startswith(_TNEF_SIGNATURE):
        return Detected(TNEF, Handling.DOWNLOAD)
    kind = filetype.guess(head) if head else None
    if kind is not None:
        mime = "image/png" if kind.mime == "image/apng" else str(kind.mime)
        if mime in ALLOWED:
            handling = Handling.INLINE if mime in RASTER_IMAGES else Handling.DOWNLOAD
            return Detected(mime, handling)
        raise FileRefused(415, "unsupported_type", f"files of type {mime} are not accepted")
    if not _looks_like_text(head):
        raise FileRefused(415, "unsupported_type", "this kind of file is not accepted")
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if _HTML.match(start):
        return Detected("text/html", Handling.DOWNLOAD_ONLY)
    if _SVG.search(head) and start.startswith((b"<svg", b"<?xml", b"<!DOCTYPE svg", b"<!--")):
        if _contains(source, _ACTIVE):
            raise FileRefused(415, "unsupported_type", "SVG images with scripts are not accepted")
        return Detected("image/svg+xml", Handling.DOWNLOAD_ONLY)
    return Detected("text/plain", Handling.DOWNLOAD)


# --- names ---------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[/\\:]")
_SPACES = re.compile(r"\s+")
_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)


def _printable(text: str) -> str:
    # Control (Cc), format (Cf: bidi overrides such as U+202E), unassigned and
    # surrogate code points go; so do line and paragraph separators.
    return "".join(
        c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Cn", "Cs", "Zl", "Zp")
    )


def display_name(original: str) -> str:
    shown = _SPACES.sub(" ", _printable(unicodedata.normalize("NFC", original))).strip()
    return shown[:ORIGINAL_NAME_MAX] or "file"


def _cap_bytes(text: str, limit: int) -> str:
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def storage_name(original: str) -> str:
    """The name downloads get: the last path segment, cleaned, ≤ 255 UTF-8 bytes."""
    name = display_name(original)
    name = _SEPARATORS.split(name)[-1] if not name.endswith(("/", "\\")) else ""
    name = name.strip(" .")
    if not name:
        return "file"
    if _RESERVED.match(name):
        name = f"_{name}"
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 0 < len(ext.encode()) <= 16:
        return _cap_bytes(stem, FILE_NAME_MAX - len(ext.encode()) - 1).rstrip(" .") + "." + ext
    return _cap_bytes(name, FILE_NAME_MAX)
