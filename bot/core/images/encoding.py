"""Turning provider output into files Discord accepts: base64 decoding, format sniffing, fitting under limits.

Pillow and large base64 work run in a worker thread so the event loop keeps serving interactions.
"""

import asyncio
import base64
import binascii
import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from bot.core.errors import ImageRetrievalError, ImageTooLargeError

# Below this many bytes, base64 work (or checking a picture that needs no shrinking) on the loop is cheaper than the
# hop to a worker thread.
OFF_LOOP_THRESHOLD = 64 * 1024
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_QUALITIES = (90, 80, 70, 60)
_MIN_EDGE = 256

_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif"}


@dataclass(frozen=True)
class PreparedImage:
    """An image ready to upload: bytes, file extension and pixel size."""

    data: bytes
    extension: str
    width: int
    height: int


async def decode_base64(text: str) -> bytes:
    """Decode a provider's base64 image, off the loop when it is large."""
    try:
        if len(text) < OFF_LOOP_THRESHOLD:
            return base64.b64decode(text, validate=True)
        return await asyncio.to_thread(base64.b64decode, text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageRetrievalError("the provider sent invalid base64") from exc


async def prepare_for_upload(data: bytes, limit: int) -> PreparedImage:
    """Check ``data`` is an image and bring it under ``limit`` bytes, re-encoding as JPEG if needed (in a worker
    thread, unless it is a small PNG that fits: checking its checksums is cheaper than the hop, where other formats
    need a full decode)."""
    if len(data) < OFF_LOOP_THRESHOLD <= limit and data.startswith(_PNG_SIGNATURE):
        return _prepare(data, limit)
    return await asyncio.to_thread(_prepare, data, limit)


def _prepare(data: bytes, limit: int) -> PreparedImage:
    try:
        with Image.open(io.BytesIO(data)) as image:
            extension = _EXTENSIONS.get(image.format or "")
            if extension is None:
                raise ImageRetrievalError(f"unsupported image format {image.format!r}")
            width, height = image.width, image.height
            if len(data) > limit:
                return _shrink(image, limit)
            if extension == "png":
                image.verify()  # every chunk's CRC: catches a truncated or corrupt file without decoding pixels
            else:
                image.load()  # formats without checksums need a full decode to prove they are whole
            return PreparedImage(data, extension, width, height)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageRetrievalError("the provider sent something that is not an image") from exc


def _shrink(image: Image.Image, limit: int) -> PreparedImage:
    """Re-encode as JPEG at falling quality, then at smaller sizes, until it fits."""
    current = image.convert("RGB")
    while min(current.size) >= _MIN_EDGE:
        for quality in _JPEG_QUALITIES:
            buffer = io.BytesIO()
            current.save(buffer, format="JPEG", quality=quality, optimize=True)
            if buffer.tell() <= limit:
                return PreparedImage(buffer.getvalue(), "jpg", current.width, current.height)
        current = current.resize((current.width * 3 // 4, current.height * 3 // 4), Image.Resampling.LANCZOS)
    raise ImageTooLargeError(f"image does not fit in {limit} bytes")
