"""Image generation through the shared ``AsyncOpenAI`` client, returning our own small dataclasses."""

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar

import openai
from openai import AsyncStream
from openai.types import Image, ImageEditStreamEvent, ImageGenStreamEvent, ImagesResponse

from bot.core.errors import (
    BillingExhaustedError,
    CannotEditError,
    GenerationError,
    ImageRetrievalError,
    ModelGoneError,
    NotConfiguredError,
    PolicyRefusalError,
    ProviderRejectedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)
from bot.core.images.catalogue import ImageOptions, ModelCatalogue
from bot.core.images.encoding import PreparedImage, decode_base64
from bot.core.images.generation import GenerationResult
from bot.core.images.inputs import MIME_TYPES
from bot.providers.downloads import ImageDownloader

log = logging.getLogger(__name__)

T = TypeVar("T")
# Partial previews a streaming model sends before the final image (the API allows 0 to 3). Each one is checked
# and re-encoded before it is shown, so one preview keeps the wait lively without doubling that work.
PARTIAL_IMAGES = 1
# How long a stream may stay open after its final image before it is dropped (the API closes it at once).
STREAM_END_GRACE_SECONDS = 5.0
PARTIAL_IMAGE_EVENTS = frozenset({"image_generation.partial_image", "image_edit.partial_image"})
COMPLETED_EVENTS = frozenset({"image_generation.completed", "image_edit.completed"})
StreamEvent = ImageGenStreamEvent | ImageEditStreamEvent

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


class ImageGenerator:
    """Generates images on the catalogue's models (the fair queue in front of it bounds concurrency)."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        catalogue: ModelCatalogue,
        downloader: ImageDownloader,
        *,
        retry: RetryPolicy,
        answer_within: float,
        provider_moderation: str = "auto",
    ) -> None:
        self._client = client
        self.catalogue = catalogue
        self._downloader = downloader
        self._retry = retry
        self._provider_moderation = provider_moderation
        self._answer_within = answer_within  # for connecting, and for each wait for more of the answer

    async def generate(
        self,
        prompt: str,
        options: ImageOptions,
        *,
        safety_identifier: str,
        on_partial: Callable[[bytes], Awaitable[None]] | None = None,
        inputs: Sequence[PreparedImage] = (),
    ) -> GenerationResult:
        """Generate ``options.count`` images, from ``inputs`` (an edit) if there are any; raises a
        :class:`GenerationError` subclass on any provider failure, :class:`CannotEditError` where the endpoint
        cannot edit.

        With ``on_partial``, a single image from a model that streams arrives as partial previews first.
        """
        started = time.perf_counter()
        request = self._parameters(prompt, options, safety_identifier, edit=bool(inputs))
        if inputs:
            request["image"] = [_upload(n, picture) for n, picture in enumerate(inputs, 1)]
        try:
            if on_partial is not None and self.catalogue.capabilities(options.model).streams and options.count == 1:
                image, size = await self._streamed(request, on_partial)
                seconds = time.perf_counter() - started
                return GenerationResult((image,), options.model, size or options.size, options.quality, None, seconds)
            response = await self._with_retries(lambda: self._request(request))
        except ModelGoneError:
            log.error(
                "The endpoint no longer serves the image model %r: set IMAGE_MODEL (or IMAGE_MODELS) to a model it "
                "lists; members are told the bot is not configured",
                options.model,
            )
            raise
        # A proxy may answer with more images than asked for; never post more than the member requested.
        items = (response.data or [])[: options.count]
        images = await asyncio.gather(*(self._image_bytes(item) for item in items))
        if not images:
            raise ImageRetrievalError("the provider answered without images")
        return GenerationResult(
            images=tuple(images),
            model=options.model,
            size=response.size or options.size,
            quality=response.quality or options.quality,
            revised_prompt=_revised_prompt(response),
            seconds=time.perf_counter() - started,
        )

    def _parameters(self, prompt: str, options: ImageOptions, safety_identifier: str, *, edit: bool) -> dict[str, Any]:
        """The request's body: only what the model takes, so proxies and older models see no unknown fields (edits
        take no provider moderation level)."""
        request: dict[str, Any] = {"model": options.model, "prompt": prompt, "n": options.count, "size": options.size}
        optional = {
            "quality": options.quality,
            "background": options.background,
            "output_format": options.output_format,
            "output_compression": options.output_compression,
        }
        request |= {name: value for name, value in optional.items() if value is not None}
        if self.catalogue.capabilities(options.model).moderation_levels and not edit:
            request["moderation"] = self._provider_moderation
        return request | {"safety_identifier": safety_identifier}

    async def _request(self, request: dict[str, Any]) -> ImagesResponse:
        try:
            if "image" in request:
                return await self._client.images.edit(**request, timeout=self._answer_within)
            return await self._client.images.generate(**request, timeout=self._answer_within)
        except openai.OpenAIError as exc:
            raise _edit_error(exc, request) or translate_provider_error(exc) from exc

    async def _streamed(
        self, request: dict[str, Any], on_partial: Callable[[bytes], Awaitable[None]]
    ) -> tuple[bytes, str | None]:
        stream = await self._with_retries(lambda: self._open_stream(request))
        async with stream:
            return await _streamed_image(stream, on_partial)

    async def _open_stream(self, request: dict[str, Any]) -> AsyncStream[StreamEvent]:
        """The event stream of a generation or edit, once the server has answered with a success."""
        stream: AsyncStream[StreamEvent]
        try:
            if "image" in request:
                stream = await self._client.images.edit(
                    **request, stream=True, partial_images=PARTIAL_IMAGES, timeout=self._answer_within
                )
            else:
                stream = await self._client.images.generate(
                    **request, stream=True, partial_images=PARTIAL_IMAGES, timeout=self._answer_within
                )
        except openai.OpenAIError as exc:
            raise _edit_error(exc, request) or translate_provider_error(exc) from exc
        return stream

    async def _with_retries(self, request: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await request()
            except GenerationError as error:
                delay = self._retry.delay(attempt, error)
                if delay is None:
                    _log_provider_error(error)
                    raise
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


async def _streamed_image(
    stream: AsyncStream[StreamEvent], on_partial: Callable[[bytes], Awaitable[None]]
) -> tuple[bytes, str | None]:
    """The final image of a generation's event stream, and its size if the stream says; previews go to
    ``on_partial`` as they come.

    The stream is read to its end, which the API closes after the final image, so that its connection can carry the
    next request; one kept open after its final image is given a moment, then dropped, and whatever follows the
    image cannot fail the job.
    """
    request_id = stream.response.headers.get("x-request-id")
    image: tuple[bytes, str | None] | None = None
    try:
        async with asyncio.timeout(None) as after_the_image:
            async for event in stream:
                if image is not None:
                    continue
                if event.type in PARTIAL_IMAGE_EVENTS:
                    await on_partial(await decode_base64(_base64_image(event, request_id)))
                elif event.type in COMPLETED_EVENTS:
                    image = await decode_base64(_base64_image(event, request_id)), event.size
                    after_the_image.reschedule(asyncio.get_running_loop().time() + STREAM_END_GRACE_SECONDS)
                elif event.type == "error":  # an error event the SDK passes on as an event, not an exception
                    raise _logged(_stream_error(event.to_dict(), request_id))
    except TimeoutError:  # only the grace after the image ends this way: the SDK's own timeouts are its errors
        pass
    except openai.OpenAIError as exc:
        if image is None:
            raise _logged(translate_provider_error(exc, request_id=request_id)) from exc
    except ValueError as exc:  # an event that is not JSON
        if image is None:
            raise _logged(ImageRetrievalError("an unreadable stream event", request_id=request_id)) from exc
    if image is None:
        raise _logged(ImageRetrievalError("the stream ended without an image", request_id=request_id))
    return image


def _upload(number: int, picture: PreparedImage) -> tuple[str, bytes, str]:
    """A picture as the SDK uploads it: file name, bytes, content type."""
    return f"input-{number}.{picture.extension}", picture.data, MIME_TYPES[picture.extension]


def _edit_error(exc: openai.OpenAIError, request: Mapping[str, Any]) -> CannotEditError | None:
    """Whether an edit failed because the endpoint cannot edit: it has no edits route (a 404 that is not an unknown
    model, as some proxies answer), or refuses the model for edits."""
    if "image" not in request:
        return None
    if isinstance(exc, openai.NotFoundError) and exc.code != "model_not_found":
        log.warning("The endpoint has no image edits route; remixes are refused (request_id=%s)", exc.request_id)
        return CannotEditError(str(request.get("model")))
    if isinstance(exc, openai.BadRequestError) and exc.param == "model":
        log.warning("The endpoint cannot edit with %s (request_id=%s)", request.get("model"), exc.request_id)
        return CannotEditError(str(request.get("model")))
    return None


def translate_provider_error(exc: openai.OpenAIError, *, request_id: str | None = None) -> GenerationError:
    """Map an ``openai`` exception to our domain error by class, status and ``.code`` (never by message text);
    ``request_id`` is the stream's, for an error that arrived in one."""
    request_id = getattr(exc, "request_id", None) or request_id
    message = getattr(exc, "message", "") or str(exc)
    if isinstance(exc, openai.APIStatusError):
        return error_for_status(
            exc.status_code,
            exc.code,
            request_id=request_id,
            retry_after=_retry_after(exc.response.headers),
            provider_message=message,
        )
    if isinstance(exc, openai.APITimeoutError) and not _never_connected(exc):
        return ProviderTimeoutError("timed out", request_id=request_id, provider_message=message)
    if isinstance(exc, openai.APIConnectionError):  # a timeout that never connected is one of these too
        return ProviderUnavailableError("connection failed", request_id=request_id, provider_message=message)
    if isinstance(exc, openai.APIError) and exc.code in POLICY_REFUSAL_CODES:  # sent in place of a streamed image
        return PolicyRefusalError(exc.code or "", request_id=request_id, provider_message=message)
    return ImageRetrievalError(type(exc).__name__, request_id=request_id, provider_message=message)


def error_for_status(status: int, code: str | None, **context: Any) -> GenerationError:
    """Our error for an HTTP error status from the provider, told apart by ``code`` where the status is shared;
    ``context`` (request id, requested delay, the provider's message) goes with it."""
    error: GenerationError
    if status == HTTPStatus.TOO_MANY_REQUESTS and code == "insufficient_quota":
        error = BillingExhaustedError(code, **context)
    elif status == HTTPStatus.TOO_MANY_REQUESTS:
        error = RateLimitedError(code or "rate limited", **context)
    elif status == HTTPStatus.BAD_REQUEST and code in POLICY_REFUSAL_CODES:
        error = PolicyRefusalError(code or "", **context)
    elif status == HTTPStatus.NOT_FOUND and code == "model_not_found":
        error = ModelGoneError(code, **context)
    elif status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND):
        error = NotConfiguredError(f"{status} {code}", **context)
    elif status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        error = ProviderUnavailableError(f"{status}", **context)
    else:
        error = ProviderRejectedError(f"{status} {code}", **context)
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


def _error_fields(answer: object) -> tuple[str | None, str]:
    """The ``code`` and ``message`` of an error answer (``{"error": {...}}``), where it has them."""
    error = answer.get("error", answer) if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        return None, ""
    code, message = error.get("code"), error.get("message")
    return (code if isinstance(code, str) else None), (message if isinstance(message, str) else "")


def _base64_image(event: StreamEvent, request_id: str | None) -> str:
    image = getattr(event, "b64_json", None)
    if not isinstance(image, str):
        raise _logged(ImageRetrievalError("a stream event without its image", request_id=request_id))
    return image


def _stream_error(fields: Mapping[str, Any], request_id: str | None) -> GenerationError:
    """An error the provider sent in place of the image: a refusal under its content policy, or a failure."""
    code, message = _error_fields(fields)
    if code in POLICY_REFUSAL_CODES:
        return PolicyRefusalError(code or "", request_id=request_id, provider_message=message)
    return ImageRetrievalError(f"stream error {code}", request_id=request_id, provider_message=message)


def _logged(error: GenerationError) -> GenerationError:
    _log_provider_error(error)
    return error


def _log_provider_error(error: GenerationError) -> None:
    # What the admin needs to act on goes to the log with the provider's request id; members get friendly text.
    level = logging.ERROR if isinstance(error, NotConfiguredError | BillingExhaustedError) else logging.WARNING
    log.log(
        level,
        "Image provider error %s: %s (request_id=%s): %s",
        type(error).__name__,
        error,
        error.request_id,
        error.provider_message[:500],
    )


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """The server's requested delay in seconds, from ``retry-after-ms`` or ``retry-after`` (seconds form)."""
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = headers.get(header)
        if raw is None:
            continue
        try:
            return max(0.0, float(raw) / divisor)
        except ValueError:
            continue
    return None
