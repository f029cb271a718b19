"""Fetching images (a provider's expiring URLs, pictures members give to remix) with a size cap and a deadline."""

import asyncio
from urllib.parse import urlsplit

import httpx2

from bot.core.errors import DownloadTooLargeError, ImageRetrievalError

MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024


class ImageDownloader:
    """Downloads image URLs through one shared HTTP client."""

    def __init__(self, http: httpx2.AsyncClient, *, max_bytes: int = MAX_DOWNLOAD_BYTES, timeout: float = 30.0) -> None:
        self._http = http
        self._max_bytes = max_bytes
        self._timeout = timeout

    async def fetch(self, url: str) -> bytes:
        """The body at ``url``; raises :class:`ImageRetrievalError` if it is too big, too slow or fails."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise ImageRetrievalError("a non-HTTP image URL")
        try:
            async with asyncio.timeout(self._timeout):
                return await self._read_capped(url)
        except TimeoutError as exc:
            raise ImageRetrievalError("downloading the image timed out") from exc
        except httpx2.HTTPError as exc:
            raise ImageRetrievalError(f"downloading the image failed: {type(exc).__name__}") from exc

    async def _read_capped(self, url: str) -> bytes:
        async with self._http.stream("GET", url) as response:
            response.raise_for_status()
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > self._max_bytes:
                raise DownloadTooLargeError("the image is larger than the download cap")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self._max_bytes:
                    raise DownloadTooLargeError("the image is larger than the download cap")
            return bytes(body)
