"""The kit's receiving pipeline without servers: type sniffing (from bytes, never
from names), file names, image metadata stripping and thumbnails, the limits."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from helpdesk.contracts.attachments import Handling, Scan
from helpdesk.servicekit.attachments import FileRefused, prepare
from helpdesk.servicekit.attachments.files import detect, display_name, storage_name

PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200 + b"PE\x00\x00"
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 100


def png(width: int = 64, height: int = 48, **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG", **save)  # type: ignore[arg-type]
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (80, 60), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90
    exif[0x8825] = {1: "N", 2: (37.0, 58.0, 12.0), 3: "E", 4: (23.0, 43.0, 5.0)}  # GPS
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (png(), ("image/png", Handling.INLINE)),
        (jpeg_with_gps(), ("image/jpeg", Handling.INLINE)),
        (b"%PDF-1.7\n" + b"x" * 100, ("application/pdf", Handling.DOWNLOAD)),
        (
            b"2026-11-26 10:00:01 ERROR outlook: 0x800CCC0E\n" * 50,
            ("text/plain", Handling.DOWNLOAD),
        ),
        ("Σφάλμα σύνδεσης στον server\n".encode() * 20, ("text/plain", Handling.DOWNLOAD)),
        ("Σφάλμα\r\n".encode("cp1253") * 30, ("text/plain", Handling.DOWNLOAD)),
        (b"<!DOCTYPE html><html><body>hi</body></html>", ("text/html", Handling.DOWNLOAD_ONLY)),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>',
            ("image/svg+xml", Handling.DOWNLOAD_ONLY),
        ),
    ],
)
def test_the_type_comes_from_the_bytes(data: bytes, expected: tuple[str, Handling]) -> None:
    found = detect(io.BytesIO(data))
    assert (found.content_type, found.handling) == expected


@pytest.mark.parametrize(
    "data",
    [
        PE,
        ELF,
        b"\xcf\xfa\xed\xfe" + bytes(range(256)) * 4,  # Mach-O / arbitrary binary
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<?xml version="1.0"?>\n<svg xmlns="x">' + b" " * 70_000 + b'<a onclick="x()"/></svg>',
    ],
)
def test_executables_unknown_binaries_and_scripted_svg_are_refused(data: bytes) -> None:
    with pytest.raises(FileRefused) as refused:
        detect(io.BytesIO(data))
    assert refused.value.status == 415


async def test_a_renamed_exe_is_refused_whatever_its_name_says() -> None:
    with pytest.raises(FileRefused) as refused:
        await prepare("screenshot.png", io.BytesIO(PE), max_bytes=1024 * 1024)
    assert (refused.value.status, refused.value.code) == (415, "unsupported_type")


async def test_too_large_and_empty_files_are_refused() -> None:
    with pytest.raises(FileRefused) as too_large:
        await prepare("big.log", io.BytesIO(b"x" * 1001), max_bytes=1000)
    assert (too_large.value.status, too_large.value.code) == (413, "file_too_large")
    with pytest.raises(FileRefused) as empty:
        await prepare("empty.log", io.BytesIO(b""), max_bytes=1000)
    assert empty.value.status == 422


@pytest.mark.parametrize(
    ("sent", "stored", "shown"),
    [
        ("../../etc/passwd", "passwd", "../../etc/passwd"),
        ("C:\\Users\\maria\\Οθόνη σφάλματος.png", "Οθόνη σφάλματος.png", None),
        ("invoice\u202egnp.exe", "invoicegnp.exe", "invoicegnp.exe"),  # no bidi override
        ("a\x00b\r\nc.txt", "abc.txt", "abc.txt"),
        ("Ο\u0301θόνη.png", "Όθόνη.png", "Όθόνη.png"),  # NFC
        ("...", "file", "..."),
        ("CON.txt", "_CON.txt", None),
    ],
)
def test_names_are_normalised_and_the_original_kept(
    sent: str, stored: str, shown: str | None
) -> None:
    assert storage_name(sent) == stored
    assert display_name(sent) == (shown if shown is not None else display_name(sent))


def test_long_greek_names_are_capped_in_bytes_and_keep_their_extension() -> None:
    name = storage_name("α" * 400 + ".log")
    assert name.endswith(".log")
    assert len(name.encode()) <= 255


async def test_exif_and_gps_are_stripped_and_the_image_turned_upright() -> None:
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif()
    prepared = await prepare("photo.jpg", io.BytesIO(original), max_bytes=10_000_000)
    prepared.data.seek(0)
    stored = prepared.data.read()
    cleaned = Image.open(io.BytesIO(stored))
    assert not cleaned.getexif()
    assert b"PhoneMaker" not in stored
    assert cleaned.size == (60, 80)  # rotated as the Orientation tag said
    assert prepared.size == len(stored)
    assert prepared.thumbnail is not None
    assert Image.open(io.BytesIO(prepared.thumbnail)).size == (60, 80)
    assert prepared.scan is Scan.NOT_SCANNED


async def test_a_png_without_metadata_is_stored_byte_for_byte_with_a_thumbnail() -> None:
    original = png(1000, 500)
    prepared = await prepare("s.png", io.BytesIO(original), max_bytes=10_000_000)
    prepared.data.seek(0)
    assert prepared.data.read() == original
    assert Image.open(io.BytesIO(prepared.thumbnail or b"")).size == (320, 160)


def _bomb_png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 100))
        + chunk(b"IEND", b"")
    )


async def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    with pytest.raises(FileRefused) as refused:
        await prepare("bomb.png", io.BytesIO(_bomb_png(50_000, 50_000)), max_bytes=10_000_000)
    assert refused.value.code == "image_too_large"
