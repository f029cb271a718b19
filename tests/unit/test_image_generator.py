"""ImageGenerator's generations over real sockets, against the fake OpenAI (or, for failures it does not stage, a
server of the test's own), through the SDK client as the bot builds it."""

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx2
import openai
import pytest
from aiohttp import web

from bot.core.errors import (
    ImageRetrievalError,
    ModelGoneError,
    PolicyRefusalError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)
from bot.core.images.catalogue import ImageOptions, ModelCatalogue
from bot.providers import generator as generator_module
from bot.providers.downloads import ImageDownloader
from bot.providers.generator import GenerationResult, ImageGenerator, RetryPolicy
from tests.fakes.openai_server import Failure, FakeOpenAI, gradient_png, partial_png
from tests.helpers import decoded, noisy_png, server_answering

MODEL = "gpt-image-2.5-flare"
OPTIONS = ImageOptions(MODEL, "1024x1024", "low", 1)
WAIT = 5.0
IMAGE = gradient_png("1024x1024")
COMPLETED = {"type": "image_generation.completed", "b64_json": base64.b64encode(IMAGE).decode()}
NO_RETRIES = RetryPolicy(max_retries=0)


@asynccontextmanager
async def generator_for(
    base_url: str, *, answer_within: float = WAIT, retry: RetryPolicy = NO_RETRIES, provider_moderation: str = "auto"
) -> AsyncIterator[ImageGenerator]:
    """An ImageGenerator for a streaming model behind ``base_url``, built as the bot builds it (without retries,
    unless ``retry`` says otherwise)."""
    async with (
        openai.AsyncOpenAI(
            base_url=base_url, api_key="sk-test", max_retries=0, http_client=openai.DefaultAioHttpClient()
        ) as client,
        httpx2.AsyncClient() as http,
    ):
        yield ImageGenerator(
            client,
            ModelCatalogue([MODEL, "proxy-model"]),
            ImageDownloader(http),
            retry=retry,
            answer_within=answer_within,
            provider_moderation=provider_moderation,
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


async def start_event_stream(request: web.Request, *, request_id: str = "req_1") -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "x-request-id": request_id})
    await response.prepare(request)
    return response


def streaming(body: bytes, *, request_id: str = "req_1") -> _Handler:
    """A handler answering with an event stream of ``body``, then ending it."""

    async def answer(request: web.Request) -> web.StreamResponse:
        response = await start_event_stream(request, request_id=request_id)
        await response.write(body)
        await response.write_eof()
        return response

    return answer


async def ignore(_preview: bytes) -> None:
    """A member who sees no previews."""


def generate(generator: ImageGenerator) -> Awaitable[GenerationResult]:
    """The request most tests make, from a member who sees no previews."""
    return generator.generate("a lighthouse", OPTIONS, safety_identifier="u1", on_partial=ignore)


async def test_a_finished_stream_and_an_error_answer_each_leave_their_connection_for_the_next_request() -> None:
    peers: list[object] = []

    async def error_then_images(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        peers.append(request.transport.get_extra_info("peername"))
        if len(peers) == 1:
            return web.json_response({"error": {"code": None, "message": "upstream hiccup"}}, status=500)
        # After the image, more than a client buffers unasked: only reading on to the end gets to the end.
        trailer = b": " + b"-" * 4_000_000 + b"\n\n"
        return await streaming(f"data: {json.dumps(COMPLETED)}\n\n".encode() + trailer)(request)

    async with generator_answered_by(error_then_images) as generator:
        with pytest.raises(ProviderUnavailableError):
            await generate(generator)
        for _ in range(2):
            result = await generate(generator)
            assert result.images == (IMAGE,)
    assert len(set(peers)) == 1, "a response read to its end (or released after an error) leaves a reusable connection"


async def test_a_failure_to_start_the_stream_is_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(Failure.server_error(503))
    async with generator_for(fake_openai.base_url, retry=RetryPolicy(max_retries=1, base_delay=0)) as generator:
        result = await generate(generator)
    assert result.images == (IMAGE,)
    assert len(fake_openai.image_requests) == 2


async def test_a_stream_held_open_after_its_image_is_dropped_after_a_grace(
    generator: ImageGenerator, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generator_module, "STREAM_END_GRACE_SECONDS", 0.05)
    fake_openai.streams_linger = True
    async with asyncio.timeout(WAIT):  # a bound for a generator that waits for the end, never a synchronisation
        result = await generate(generator)
    assert result.images == (IMAGE,)


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
        "model": MODEL,
        "prompt": "a lighthouse",
        "n": 1,
        "size": "1024x1024",
        "quality": "low",
        "moderation": "auto",
        "safety_identifier": "u1",
        "stream": True,
        "partial_images": generator_module.PARTIAL_IMAGES,
    }
    assert previews == [partial_png("1024x1024", 0)]
    assert (result.model, result.size, result.quality) == (MODEL, "1024x1024", "low")


async def test_the_model_the_servers_format_and_the_operators_moderation_level_go_upstream(
    fake_openai: FakeOpenAI,
) -> None:
    options = ImageOptions(MODEL, "1536x864", "high", 2, "transparent", "webp", 70)
    async with generator_for(fake_openai.base_url, provider_moderation="low") as generator:
        result = await generator.generate("a lighthouse", options, safety_identifier="u1")
    (request,) = fake_openai.image_requests
    assert request.json == {
        "model": MODEL,
        "prompt": "a lighthouse",
        "n": 2,
        "size": "1536x864",
        "quality": "high",
        "background": "transparent",
        "output_format": "webp",
        "output_compression": 70,
        "moderation": "low",
        "safety_identifier": "u1",
    }
    assert len(result.images) == 2
    assert all(decoded(image).format == "WEBP" for image in result.images)


async def test_a_model_the_bot_does_not_know_gets_none_of_the_gpt_image_fields(fake_openai: FakeOpenAI) -> None:
    fake_openai.serves_models = False  # a proxy serving its own model names
    async with generator_for(fake_openai.base_url, provider_moderation="low") as generator:
        await generator.generate(
            "a lighthouse", ImageOptions("proxy-model", "1024x1024", None, 1), safety_identifier="u1"
        )
    (request,) = fake_openai.image_requests
    assert request.json == {
        "model": "proxy-model",
        "prompt": "a lighthouse",
        "n": 1,
        "size": "1024x1024",
        "safety_identifier": "u1",
    }


async def test_a_model_gone_from_the_endpoint_is_not_configured_and_logged_for_the_admin(
    generator: ImageGenerator, fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    del fake_openai.models[MODEL]
    with pytest.raises(ModelGoneError):
        await generate(generator)
    assert any("IMAGE_MODEL" in r.getMessage() and MODEL in r.getMessage() for r in caplog.records)


async def test_an_image_of_megabytes_arrives_whole(generator: ImageGenerator, fake_openai: FakeOpenAI) -> None:
    picture = noisy_png(600, 600)  # about a megabyte: its event comes in many reads, and is parsed off the loop
    fake_openai.image_factory = lambda _size: picture
    result = await generate(generator)
    assert result.images == (picture,)


async def test_an_error_status_becomes_our_error_with_the_providers_request_id_and_delay(
    generator: ImageGenerator, fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    fake_openai.fail_next(Failure.rate_limited(retry_after="7"))
    with pytest.raises(RateLimitedError) as raised:
        await generate(generator)
    (request,) = fake_openai.image_requests
    assert (raised.value.request_id, raised.value.retry_after) == (request.request_id, 7)
    assert f"request_id={request.request_id}" in caplog.text
    assert "sk-test" not in caplog.text


@pytest.mark.parametrize(
    "error",
    [
        {"type": "error", "error": {"code": "moderation_blocked", "message": "refused"}},
        {"type": "error", "code": "moderation_blocked", "message": "refused"},
    ],
    ids=["nested", "flat"],
)
async def test_a_policy_refusal_sent_in_the_stream_is_a_refusal_with_the_request_id(error: dict[str, object]) -> None:
    refusal = streaming(f"event: error\ndata: {json.dumps(error)}\n\n".encode(), request_id="req_stream")
    async with generator_answered_by(refusal) as generator:
        with pytest.raises(PolicyRefusalError) as raised:
            await generate(generator)
    assert raised.value.request_id == "req_stream"


async def test_a_stream_cut_off_before_its_image_is_unavailable() -> None:
    async def cut_off(request: web.Request) -> web.StreamResponse:
        response = await start_event_stream(request)
        await response.write(b'event: image_generation.partial_image\ndata: {"type": "image_gen')
        assert request.transport is not None
        request.transport.close()  # the connection drops in the middle of an event
        return response

    async with generator_answered_by(cut_off) as generator:
        with pytest.raises(ProviderUnavailableError):
            await generate(generator)


async def test_a_stream_that_goes_quiet_before_its_image_times_out() -> None:
    quiet = asyncio.Event()  # never set: the stream says nothing more
    preview = {"type": "image_generation.partial_image", "b64_json": base64.b64encode(IMAGE).decode()}
    previews: list[bytes] = []

    async def going_quiet(request: web.Request) -> web.StreamResponse:
        response = await start_event_stream(request)
        await response.write(f"data: {json.dumps(preview)}\n\n".encode())
        await quiet.wait()
        return response

    async def on_partial(image: bytes) -> None:
        previews.append(image)

    async with generator_answered_by(going_quiet, answer_within=0.05) as generator:
        try:
            async with asyncio.timeout(WAIT):  # a bound in case the read timeout is broken, never a synchronisation
                with pytest.raises(ProviderTimeoutError):
                    await generator.generate("a lighthouse", OPTIONS, safety_identifier="u1", on_partial=on_partial)
        finally:
            quiet.set()  # the handler may end now, so the server closes without waiting for it
    assert previews == [IMAGE], "the stream had started: the limit is on each wait for more, not on the whole"


async def test_what_follows_the_image_is_only_read_to_the_end() -> None:
    trailers = f"data: {json.dumps(COMPLETED)}\n\ndata: not json\n\n"
    async with generator_answered_by(streaming(trailers.encode())) as generator:
        result = await generate(generator)
    assert result.images == (IMAGE,)


@pytest.mark.parametrize("events", [[COMPLETED], []], ids=["after the image", "without one"])
async def test_the_old_done_marker_ends_the_stream_even_if_the_connection_stays_open(
    events: list[dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generator_module, "STREAM_END_GRACE_SECONDS", 60)
    held = asyncio.Event()  # never set: the proxy keeps the response open after its marker

    async def done_then_held(request: web.Request) -> web.StreamResponse:
        response = await start_event_stream(request)
        await response.write("".join(f"data: {json.dumps(event)}\n\n" for event in events).encode())
        await response.write(b"data: [DONE]\n\n")
        await held.wait()
        return response

    async with generator_answered_by(done_then_held, answer_within=60) as generator:
        try:
            async with asyncio.timeout(WAIT):  # a bound for a generator that waits on, never a synchronisation
                if events:
                    result = await generator.generate(
                        "a lighthouse", OPTIONS, safety_identifier="u1", on_partial=ignore
                    )
                    assert result.images == (IMAGE,)
                else:
                    with pytest.raises(ImageRetrievalError):
                        await generate(generator)
        finally:
            held.set()


async def test_a_stream_without_a_readable_image_is_a_retrieval_error() -> None:
    garbled = {"type": "image_generation.completed", "b64_json": base64.b64encode(b"x").decode()[:-1] + "!"}
    async with generator_answered_by(streaming(f"data: {json.dumps(garbled)}\n\n".encode())) as generator:
        with pytest.raises(ImageRetrievalError):
            await generate(generator)
