"""Image generation through one shared ``AsyncOpenAI`` client, returning our own small dataclasses."""

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import openai
from openai.types import Image, ImagesResponse

from bot.services.capabilities import ImageOptions, ModelCapabilities
from bot.services.downloads import ImageDownloader
from bot.services.encoding import decode_base64
from bot.services.errors import (
    BillingExhaustedError,
    GenerationError,
    ImageRetrievalError,
    NotConfiguredError,
    PolicyRefusalError,
    ProviderRejectedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
# Partial previews a streaming model sends before the final image (the API allows 0 to 3). Each one is checked
# and re-encoded before it is shown, so one preview keeps the wait lively without doubling that work.
PARTIAL_IMAGES = 1
# How long a stream may stay open after its final image before it is dropped (the API closes it at once).
STREAM_END_GRACE_SECONDS = 5.0

# GPT image models answer ``moderation_blocked``; retired DALL·E models (still behind some proxies) used the other.
POLICY_REFUSAL_CODES = frozenset({"moderation_blocked", "content_policy_violation"})


RETRYABLE = (RateLimitedError, ProviderTimeoutError, ProviderUnavailableError)


@dataclass(frozen=True)
class RetryPolicy:
    """Which failures are retried and how long to wait. Billing, policy and configuration errors never are."""

    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, error: GenerationError) -> float | None:
        """Seconds to wait before retry number ``attempt`` (from 1), or ``None`` to give up with ``error``."""
        if attempt > self.max_retries or not isinstance(error, RETRYABLE):
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_retry_after else None
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return backoff * random.uniform(0.75, 1.0)  # noqa: S311 - jitter, not cryptography


@dataclass(frozen=True)
class GenerationResult:
    """What the provider made for one request: raw image bytes plus what to tell the member about it."""

    images: tuple[bytes, ...]
    model: str
    size: str
    quality: str | None
    revised_prompt: str | None
    seconds: float


class ImageGenerator:
    """Generates images for one configured model (the fair queue in front of it bounds concurrency)."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        capabilities: ModelCapabilities,
        downloader: ImageDownloader,
        *,
        retry: RetryPolicy,
    ) -> None:
        self._client = client
        self.capabilities = capabilities
        self._downloader = downloader
        self._retry = retry

    async def generate(
        self,
        prompt: str,
        options: ImageOptions,
        *,
        safety_identifier: str,
        on_partial: Callable[[bytes], Awaitable[None]] | None = None,
    ) -> GenerationResult:
        """Generate ``options.count`` images; raises a :class:`GenerationError` subclass on any provider failure.

        With ``on_partial``, a single image from a model that streams arrives as partial previews first.
        """
        started = time.perf_counter()
        if on_partial is not None and self.capabilities.streams and options.count == 1:
            image, size, quality = await self._streamed(prompt, options, safety_identifier, on_partial)
            return GenerationResult(
                (image,), self.capabilities.name, size, quality, None, time.perf_counter() - started
            )
        response = await self._with_retries(lambda: self._request(prompt, options, safety_identifier))
        # A proxy may answer with more images than asked for; never post more than the member requested.
        items = (response.data or [])[: options.count]
        images = await asyncio.gather(*(self._image_bytes(item) for item in items))
        if not images:
            raise ImageRetrievalError("the provider answered without images")
        return GenerationResult(
            images=tuple(images),
            model=self.capabilities.name,
            size=response.size or options.size,
            quality=response.quality or options.quality,
            revised_prompt=_revised_prompt(response),
            seconds=time.perf_counter() - started,
        )

    def _request(self, prompt: str, options: ImageOptions, safety_identifier: str, **extra: Any) -> Awaitable[Any]:
        return self._client.images.generate(
            model=self.capabilities.name,
            prompt=prompt,
            n=options.count,
            size=options.size,
            quality=options.quality if options.quality else openai.omit,
            safety_identifier=safety_identifier,
            **extra,
        )

    async def _streamed(
        self,
        prompt: str,
        options: ImageOptions,
        safety_identifier: str,
        on_partial: Callable[[bytes], Awaitable[None]],
    ) -> tuple[bytes, str, str | None]:
        stream = await self._with_retries(
            lambda: self._request(prompt, options, safety_identifier, stream=True, partial_images=PARTIAL_IMAGES)
        )
        completed: tuple[bytes, str, str | None] | None = None
        try:
            # Read to the end of the stream, which the API closes after the final image. Leaving it early would
            # leave the SDK's chain of async generators suspended, and asyncio finalises each of those through a
            # wake-up of the event loop of its own: about eight per job. A stream kept open after its final
            # image is given a moment, then dropped.
            async with asyncio.timeout(None) as after_the_image:
                async for event in stream:
                    if event.type == "image_generation.partial_image":
                        await on_partial(await decode_base64(event.b64_json))
                    elif event.type == "image_generation.completed" and completed is None:
                        completed = await decode_base64(event.b64_json), event.size or options.size, options.quality
                        after_the_image.reschedule(asyncio.get_running_loop().time() + STREAM_END_GRACE_SECONDS)
        except openai.OpenAIError as exc:
            if completed is None:
                error = translate_provider_error(exc)
                _log_provider_error(error, exc)
                raise error from exc
        except TimeoutError:
            if completed is None:
                raise
        finally:
            await stream.close()
        if completed is None:
            raise ImageRetrievalError("the stream ended without an image")
        return completed

    async def _with_retries(self, request: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await request()
            except openai.OpenAIError as exc:
                error = translate_provider_error(exc)
                delay = self._retry.delay(attempt, error)
                if delay is None:
                    _log_provider_error(error, exc)
                    raise error from exc
                log.info("Retrying image request in %.2f s after %s (attempt %d)", delay, type(error).__name__, attempt)
                await asyncio.sleep(delay)

    async def _image_bytes(self, item: Image) -> bytes:
        if item.b64_json:
            return await decode_base64(item.b64_json)
        if item.url:
            # Proxy URLs expire, so we always fetch and re-upload the file rather than linking to it.
            return await self._downloader.fetch(item.url)
        raise ImageRetrievalError("the provider returned an image item with neither data nor URL")


def _revised_prompt(response: ImagesResponse) -> str | None:
    return next((item.revised_prompt for item in response.data or () if item.revised_prompt), None)


def translate_provider_error(exc: openai.OpenAIError) -> GenerationError:
    """Map an ``openai`` exception to our domain error by class and ``.code`` (never by message text)."""
    request_id = getattr(exc, "request_id", None)
    code = getattr(exc, "code", None)
    status = getattr(exc, "status_code", None)
    retry_after = _retry_after(exc) if isinstance(exc, openai.APIStatusError) else None
    error: GenerationError
    if isinstance(exc, openai.APITimeoutError) and not _never_connected(exc):
        error = ProviderTimeoutError("timed out", request_id=request_id)
    elif isinstance(exc, openai.APIConnectionError):  # a timeout that never connected is one of these too
        error = ProviderUnavailableError("connection failed", request_id=request_id)
    elif isinstance(exc, openai.RateLimitError):
        if code == "insufficient_quota":
            error = BillingExhaustedError(code, request_id=request_id)
        else:
            error = RateLimitedError(code or "rate limited", request_id=request_id, retry_after=retry_after)
    elif isinstance(exc, openai.BadRequestError):
        if code in POLICY_REFUSAL_CODES:
            error = PolicyRefusalError(code or "", request_id=request_id)
        else:
            error = ProviderRejectedError(f"400 {code}", request_id=request_id)
    elif isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError | openai.NotFoundError):
        error = NotConfiguredError(f"{status} {code}", request_id=request_id)
    elif isinstance(exc, openai.InternalServerError):
        error = ProviderUnavailableError(f"{status}", request_id=request_id, retry_after=retry_after)
    elif isinstance(exc, openai.APIStatusError):
        error = ProviderRejectedError(f"{status} {code}", request_id=request_id)
    else:
        error = ImageRetrievalError(type(exc).__name__, request_id=request_id)
    return error


def _never_connected(exc: BaseException) -> bool:
    """Whether a reported timeout was really a refused or failed connection: the SDK's aiohttp transport reports
    every connection error as a connect timeout, but somewhere among the causes is an OS error that is not one."""
    cause = exc.__cause__
    while cause is not None:
        if isinstance(cause, OSError) and not isinstance(cause, TimeoutError):
            return True
        cause = cause.__cause__
    return False


def _log_provider_error(error: GenerationError, exc: openai.OpenAIError) -> None:
    # What the admin needs to act on goes to the log with the provider's request id; members get friendly text.
    message = getattr(exc, "message", "") or str(exc)
    level = logging.ERROR if isinstance(error, NotConfiguredError | BillingExhaustedError) else logging.WARNING
    log.log(
        level,
        "Image provider error %s: %s (request_id=%s): %s",
        type(error).__name__,
        error,
        error.request_id,
        message[:500],
    )


def _retry_after(exc: openai.APIStatusError) -> float | None:
    """The server's requested delay in seconds, from ``retry-after-ms`` or ``retry-after`` (seconds form)."""
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = exc.response.headers.get(header)
        if raw is None:
            continue
        try:
            return max(0.0, float(raw) / divisor)
        except ValueError:
            continue
    return None
