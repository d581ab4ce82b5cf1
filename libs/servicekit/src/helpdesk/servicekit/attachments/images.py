"""Images: metadata (EXIF with its GPS position, XMP, comments) stripped before
an image is stored, and a small thumbnail made once per stored image.

Pillow decodes the image (in a worker thread, at most `DECODERS` at a time,
so memory stays bounded), turns it upright as EXIF said, and writes it again
without the metadata; the colour profile is kept. An image whose pixel count
passes `MAX_PIXELS` is refused before it is decoded (a decompression bomb:
a few KiB of PNG can claim gigabytes of pixels). GIFs carry no EXIF and are
kept as they are (re-encoding would flatten animations).
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from typing import IO, BinaryIO

from PIL import Image, ImageOps

from helpdesk.servicekit.attachments.files import FileRefused

MAX_PIXELS = 40_000_000  # 8K screens are 33 Mpx; 40 Mpx RGBA is 160 MB while decoding
THUMBNAIL_SIZE = (320, 320)
SPOOL_BYTES = 1024 * 1024
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP", "image/bmp": "BMP"}


@dataclass
class Cleaned:
    data: IO[bytes]  # the image to store (the original when nothing had to go)
    thumbnail: bytes | None
    stripped: bool


def _has_metadata(image: Image.Image) -> bool:
    info = image.info
    return bool(
        image.getexif()
        or any(k in info for k in ("exif", "xmp", "XML:com.adobe.xmp", "comment", "photoshop"))
        or any(isinstance(v, str) for k, v in info.items() if k not in ("icc_profile",))
    )


def _thumbnail(image: Image.Image) -> bytes:
    small = image.copy()
    small.thumbnail(THUMBNAIL_SIZE)
    if small.mode not in ("RGB", "RGBA"):
        small = small.convert("RGBA")
    out = io.BytesIO()
    small.save(out, "PNG", optimize=True)
    return out.getvalue()


def clean(source: BinaryIO, content_type: str) -> Cleaned:
    """Strip the metadata and make the thumbnail (blocking: run it in a thread)."""
    source.seek(0)
    try:
        with Image.open(source) as image:
            if image.width * image.height > MAX_PIXELS:
                raise FileRefused(
                    422, "image_too_large", f"images may have at most {MAX_PIXELS} pixels"
                )
            image.load()
            upright = ImageOps.exif_transpose(image) or image
            thumbnail = _thumbnail(upright)
            target = _FORMATS.get(content_type)
            if target is None or not _has_metadata(image):
                source.seek(0)
                return Cleaned(source, thumbnail, stripped=False)
            out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - the caller closes it
            options: dict[str, object] = {}
            if image.info.get("icc_profile"):
                options["icc_profile"] = image.info["icc_profile"]
            if target == "JPEG":
                options["quality"] = 95
                if upright.mode not in ("RGB", "L", "CMYK"):
                    upright = upright.convert("RGB")
            upright.save(out, target, **options)
            out.seek(0)
            return Cleaned(out, thumbnail, stripped=True)
    except Image.DecompressionBombError:
        raise FileRefused(
            422, "image_too_large", f"images may have at most {MAX_PIXELS} pixels"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise FileRefused(422, "damaged_image", f"the image cannot be read: {exc}") from None
