"""Pictures members give the bot to remix: untrusted, so fetched only from Discord's own hosts, size-capped and
time-limited, proven to be PNG, JPEG or WebP by decoding them (off the event loop, refusing a decompression bomb
before its pixels are expanded), and shrunk to what the models take."""

import asyncio
import io
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from time import time
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError

from bot.core.errors import DownloadTooLargeError, ImageRetrievalError, InputImageError, ResultGoneError
from bot.core.images.encoding import PreparedImage
from storage.image_inputs import ImageInputsRepository, StoredPicture

# Discord hosts attachments (and proxies embed images) here; nothing else is ever fetched for a remix.
DISCORD_MEDIA_HOSTS = frozenset({"cdn.discordapp.com", "media.discordapp.net"})
# What a member may hand in: far above a phone photo, far below what would hold the bot's memory for long.
MAX_INPUT_BYTES = 20 * 1024 * 1024
# Pixels a picture may declare before it is decoded: a small file that claims more is a decompression bomb.
MAX_INPUT_PIXELS = 40_000_000
# The longer edge a picture is shrunk to: the models work at about this size, and a smaller upload is quicker.
INPUT_MAX_EDGE = 2048
_FORMATS = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp"}
MIME_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


@dataclass(frozen=True)
class InputSource:
    """Where a picture to remix is: a URL Discord gave for this interaction, and the size Discord declared."""

    url: str
    size: int | None = None
    name: str = "picture"


Fetch = Callable[[str], Awaitable[bytes]]


class InputImages:
    """Loads the pictures of a remix through ``fetch`` (a capped, time-limited download), from ``hosts`` only, and
    keeps them so the remix can be made again (Reroll, an approved appeal).

    Every failure is an :class:`InputImageError` naming the picture, raised before anything is reserved.
    """

    def __init__(
        self, fetch: Fetch, repository: ImageInputsRepository, *, hosts: frozenset[str] = DISCORD_MEDIA_HOSTS
    ) -> None:
        self._fetch = fetch
        self._repository = repository
        self._hosts = hosts

    async def take(
        self, sources: Sequence[InputSource], *, guild_id: int, user_id: int
    ) -> tuple[int, tuple[PreparedImage, ...]]:
        """The pictures at ``sources``, in order, each checked and prepared, and the id they are kept under."""
        if not sources:
            raise InputImageError("none")
        pictures = tuple(await asyncio.gather(*(self._load(n, source) for n, source in enumerate(sources, 1))))
        stored = [StoredPicture(p.extension, p.width, p.height, p.data) for p in pictures]
        input_id = await self._repository.save(guild_id=guild_id, user_id=user_id, pictures=stored, now=int(time()))
        return input_id, pictures

    async def kept(self, input_id: int) -> tuple[PreparedImage, ...]:
        """The pictures kept under ``input_id``; :class:`ResultGoneError` if they were deleted."""
        pictures = await self._repository.load(input_id)
        if not pictures:
            raise ResultGoneError
        return tuple(PreparedImage(p.data, p.extension, p.width, p.height) for p in pictures)

    async def _load(self, picture: int, source: InputSource) -> PreparedImage:
        parts = urlsplit(source.url)
        if parts.scheme not in ("http", "https") or parts.hostname not in self._hosts:
            raise InputImageError("not_discord", picture=picture)
        if source.size is not None and source.size > MAX_INPUT_BYTES:
            raise InputImageError("too_large", picture=picture)
        try:
            data = await self._fetch(source.url)
        except DownloadTooLargeError as exc:
            raise InputImageError("too_large", picture=picture) from exc
        except ImageRetrievalError as exc:
            raise InputImageError("unreachable", picture=picture) from exc
        try:
            return await asyncio.to_thread(prepare_input, data)
        except InputImageError as exc:
            raise InputImageError(exc.reason, picture=picture) from exc


def prepare_input(data: bytes) -> PreparedImage:
    """``data`` proven to be a PNG, JPEG or WebP picture, shrunk to :data:`INPUT_MAX_EDGE` if larger (blocking: call
    it in a worker thread)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            extension = _FORMATS.get(image.format or "")
            if extension is None:
                raise InputImageError("format")
            if image.width * image.height > MAX_INPUT_PIXELS:
                raise InputImageError("pixels")  # before a single pixel is decoded
            image.load()
            if max(image.size) <= INPUT_MAX_EDGE:
                return PreparedImage(data, extension, image.width, image.height)
            return _shrunk(image, extension)
    except Image.DecompressionBombError as exc:  # Pillow's own, far higher, limit
        raise InputImageError("pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputImageError("unreadable") from exc


def _shrunk(image: Image.Image, extension: str) -> PreparedImage:
    image.thumbnail((INPUT_MAX_EDGE, INPUT_MAX_EDGE), Image.Resampling.LANCZOS)
    if extension == "jpeg" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=extension.upper(), **({"quality": 90} if extension != "png" else {}))
    return PreparedImage(buffer.getvalue(), extension, image.width, image.height)
