"""ImageGenerator's streamed generations over real sockets, against the fake OpenAI (or, for failures it does not
stage, a server of the test's own), through the endpoint session as in the bot."""

import asyncio
import base64
import gc
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

import httpx2
import openai
import pytest
from aiohttp import web

from bot.services import images
from bot.services.capabilities import ImageOptions, capabilities_for
from bot.services.downloads import ImageDownloader
from bot.services.errors import (
    ImageRetrievalError,
    PolicyRefusalError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)
from bot.services.images import ImageGenerator, RetryPolicy
from bot.services.openai_http import openai_endpoint
from tests.fakes.openai_server import Failure, FakeOpenAI, gradient_png, partial_png
from tests.helpers import noisy_png, server_answering

OPTIONS = ImageOptions(size="1024x1024", quality="low", count=1)
WAIT = 5.0


@asynccontextmanager
async def generator_for(base_url: str, *, answer_within: float = WAIT) -> AsyncIterator[ImageGenerator]:
    """An ImageGenerator for a streaming model behind ``base_url``, built as the bot builds it (without retries)."""
    async with (
        openai.AsyncOpenAI(
            base_url=base_url, api_key="sk-test", max_retries=0, http_client=openai.DefaultAioHttpClient()
        ) as client,
        openai_endpoint(client) as endpoint,
        httpx2.AsyncClient() as http,
    ):
        yield ImageGenerator(
            client,
            endpoint,
            capabilities_for("gpt-image-1-mini"),
            ImageDownloader(http),
            retry=RetryPolicy(max_retries=0),
            answer_within=answer_within,
        )


@pytest.fixture
async def generator(fake_openai: FakeOpenAI) -> AsyncIterator[ImageGenerator]:
    async with generator_for(fake_openai.base_url) as generator:
        yield generator


_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def generator_answered_by(handler: _Handler, *, answer_within: float = WAIT) -> AsyncIterator[ImageGenerator]:
    """A generator whose provider is a server of the test's own, answering every request with ``handler``."""
    async with (
        server_answering("images/generations", handler) as base_url,
        generator_for(base_url, answer_within=answer_within) as generator,
    ):
        yield generator


async def start_event_stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    return response


def streaming(body: bytes) -> _Handler:
    """A handler answering with an event stream of ``body``, then ending it."""

    async def answer(request: web.Request) -> web.StreamResponse:
        response = await start_event_stream(request)
        await response.write(body)
        await response.write_eof()
        return response

    return answer


async def ignore(_preview: bytes) -> None:
    """A member who sees no previews."""


@contextmanager
def finalised_async_generators() -> Iterator[list[object]]:
    """Async generators first iterated inside the block that asyncio had to finalise (they were dropped unfinished)."""
    hooks = sys.get_asyncgen_hooks()
    finalised: list[object] = []

    def noting(agen: object) -> None:
        finalised.append(agen)
        hooks.finalizer(agen)  # type: ignore[misc]

    sys.set_asyncgen_hooks(firstiter=hooks.firstiter, finalizer=noting)
    try:
        yield finalised
    finally:
        sys.set_asyncgen_hooks(*hooks)


async def test_a_stream_is_read_to_its_end_so_nothing_is_left_to_finalise(generator: ImageGenerator) -> None:
    previews: list[bytes] = []

    async def on_partial(preview: bytes) -> None:
        previews.append(preview)

    with finalised_async_generators() as finalised:
        result = await generator.generate("a lighthouse", OPTIONS, safety_identifier="u1", on_partial=on_partial)
        gc.collect()
    assert result.images == (gradient_png("1024x1024"),)
    assert len(previews) == images.PARTIAL_IMAGES
    assert finalised == [], "each one dropped unfinished costs the event loop a wake-up of its own"


async def test_a_stream_held_open_after_its_image_is_dropped_after_a_grace(
    generator: ImageGenerator, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(images, "STREAM_END_GRACE_SECONDS", 0.05)
    fake_openai.streams_linger = True

    async def on_partial(preview: bytes) -> None:
        pass

    async with asyncio.timeout(WAIT):  # a bound for a generator that waits for the end, never a synchronisation
        result = await generator.generate("a lighthouse", OPTIONS, safety_identifier="u1", on_partial=on_partial)
    assert result.images == (gradient_png("1024x1024"),)


async def test_the_request_carries_the_options_and_the_clients_credentials(
    generator: ImageGenerator, fake_openai: FakeOpenAI
) -> None:
    previews: list[bytes] = []

    async def on_partial(preview: bytes) -> None:
        previews.append(preview)

    result = await generator.generate("a lighthouse", OPTIONS, safety_identifier="u1", on_partial=on_partial)
    (request,) = fake_openai.image_requests
    assert request.path == "/v1/images/generations"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.json == {
        "model": "gpt-image-1-mini",
        "prompt": "a lighthouse",
        "n": 1,
        "size": "1024x1024",
        "quality": "low",
        "safety_identifier": "u1",
        "stream": True,
        "partial_images": images.PARTIAL_IMAGES,
    }
    assert previews == [partial_png("1024x1024", 0)]
    assert (result.model, result.size, result.quality) == ("gpt-image-1-mini", "1024x1024", "low")


async def test_an_image_of_megabytes_arrives_whole(generator: ImageGenerator, fake_openai: FakeOpenAI) -> None:
    picture = noisy_png(600, 600)  # about a megabyte: its event comes in many reads, and is parsed off the loop
    fake_openai.image_factory = lambda _size: picture
    result = await generator.generate("a lighthouse", OPTIONS, safety_identifier="u1", on_partial=ignore)
    assert result.images == (picture,)


async def test_an_error_status_becomes_our_error_with_the_providers_request_id_and_delay(
    generator: ImageGenerator, fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    fake_openai.fail_next(Failure.rate_limited(retry_after="7"))
    with pytest.raises(RateLimitedError) as raised:
        await generator.generate("a lighthouse", OPTIONS, safety_identifier="u1", on_partial=ignore)
    (request,) = fake_openai.image_requests
    assert (raised.value.request_id, raised.value.retry_after) == (request.request_id, 7)
    assert f"request_id={request.request_id}" in caplog.text
    assert "sk-test" not in caplog.text


async def test_a_policy_refusal_sent_in_the_stream_is_a_refusal() -> None:
    error = {"type": "error", "error": {"code": "moderation_blocked", "message": "refused"}}
    async with generator_answered_by(streaming(f"event: error\ndata: {json.dumps(error)}\n\n".encode())) as generator:
        with pytest.raises(PolicyRefusalError):
            await generator.generate("a lighthouse", OPTIONS, safety_identifier="u1", on_partial=ignore)


async def test_a_stream_cut_off_before_its_image_is_unavailable() -> None:
    async def cut_off(request: web.Request) -> web.StreamResponse:
        response = await start_event_stream(request)
        await response.write(b'event: image_generation.partial_image\ndata: {"type": "image_gen')
        assert request.transport is not None
        request.transport.close()  # the connection drops in the middle of an event
        return response

    async with generator_answered_by(cut_off) as generator:
        with pytest.raises(ProviderUnavailableError):
            await generator.generate("a lighthouse", OPTIONS, safety_identifier="u1", on_partial=ignore)


async def test_a_stream_that_goes_quiet_before_its_image_times_out() -> None:
    quiet = asyncio.Event()  # never set: the stream says nothing more

    async def going_quiet(request: web.Request) -> web.StreamResponse:
        response = await start_event_stream(request)
        await response.write(b": generating\n\n")
        await quiet.wait()
        return response

    async with generator_answered_by(going_quiet, answer_within=0.05) as generator:
        try:
            with pytest.raises(ProviderTimeoutError):
                await generator.generate("a lighthouse", OPTIONS, safety_identifier="u1", on_partial=ignore)
        finally:
            quiet.set()  # the handler may end now, so the server closes without waiting for it


async def test_what_follows_the_image_is_only_read_to_the_end() -> None:
    image = gradient_png("1024x1024")
    completed = {"type": "image_generation.completed", "b64_json": base64.b64encode(image).decode()}
    trailers = f"data: {json.dumps(completed)}\n\ndata: [DONE]\n\ndata: not json\n\n"
    async with generator_answered_by(streaming(trailers.encode())) as generator:
        result = await generator.generate("a lighthouse", OPTIONS, safety_identifier="u1", on_partial=ignore)
    assert result.images == (image,)


async def test_a_stream_without_a_readable_image_is_a_retrieval_error() -> None:
    garbled = {"type": "image_generation.completed", "b64_json": base64.b64encode(b"x").decode()[:-1] + "!"}
    async with generator_answered_by(streaming(f"data: {json.dumps(garbled)}\n\n".encode())) as generator:
        with pytest.raises(ImageRetrievalError):
            await generator.generate("a lighthouse", OPTIONS, safety_identifier="u1", on_partial=ignore)
