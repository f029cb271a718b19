"""Tests of the fake OpenAI server's models, keys, per-model rules and output formats, via ``openai.AsyncOpenAI``."""

import base64
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx2
import openai
import pytest
from openai.types import ImageGenCompletedEvent, ImageGenPartialImageEvent
from PIL import Image

from tests.fakes.openai_server import ACTIVE_IMAGE_MODELS, Failure, FakeOpenAI

PROMPT = "a lighthouse at dusk"


def decoded(b64: str | None) -> Image.Image:
    """The image in ``b64``, fully decoded by Pillow (``format`` kept)."""
    assert b64 is not None
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    image.load()
    return image


def iso_day(days_from_today: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days_from_today)).isoformat()


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server
        assert server.contract_violations == []


@pytest.fixture
async def client(fake: FakeOpenAI) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0, timeout=5) as sdk:
        yield sdk


# --- GET /v1/models -------------------------------------------------------------------------------------------------


async def test_models_lists_the_active_models_and_their_shutdown_dates(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.models["gpt-image-2"] = "2026-12-20"
    del fake.models["gpt-image-2.6-sunburst"]

    models = {model.id: model async for model in client.models.list()}

    assert set(ACTIVE_IMAGE_MODELS) - set(models) == {"gpt-image-2.6-sunburst"}
    assert {"gpt-5", "omni-moderation-latest"} <= set(models)
    assert models["gpt-image-2"].shutdown_date == "2026-12-20"
    assert models["gpt-image-2.5-flare"].shutdown_date is None
    assert (models["gpt-image-2.5-flare"].object, models["gpt-image-2.5-flare"].owned_by) == ("model", "system")
    assert isinstance(models["gpt-image-2.5-flare"].created, int)
    [recorded] = fake.model_requests
    assert (recorded.path, recorded.headers["authorization"]) == ("/v1/models", "Bearer sk-test")
    assert fake.image_requests == []


async def test_without_serves_models_the_route_is_a_proxys_404_and_any_model_generates(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.serves_models = False

    with pytest.raises(openai.NotFoundError) as caught:
        await client.models.list()
    result = await client.images.generate(model="my-proxy-image-model", prompt=PROMPT, size="100x100", quality="max")

    assert caught.value.body == {
        "message": "Invalid URL (GET /v1/models)",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    assert len(fake.model_requests) == 1
    assert result.data is not None
    assert decoded(result.data[0].b64_json).size == (100, 100)
    assert result.quality == "max"  # the fixture also checks nothing was noted as a contract violation


async def test_accepted_key_refuses_any_other_key_on_every_route(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.accepted_key = "sk-right"

    with pytest.raises(openai.AuthenticationError) as caught:
        await client.models.list()
    with pytest.raises(openai.AuthenticationError):
        await client.images.generate(model="gpt-image-2.5-flare", prompt=PROMPT)
    with pytest.raises(openai.AuthenticationError):
        await client.moderations.create(model="omni-moderation-latest", input=PROMPT)
    right = client.with_options(api_key="sk-right")
    listed = [model.id async for model in right.models.list()]
    generated = await right.images.generate(model="gpt-image-2.5-flare", prompt=PROMPT)

    assert (caught.value.status_code, caught.value.code) == (401, "invalid_api_key")
    assert "gpt-image-2.5-flare" in listed
    assert generated.data is not None
    assert len(fake.model_requests) == len(fake.image_requests) == 2
    assert len(fake.moderation_requests) == 1


# --- per-model rules ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "shutdown"),
    [
        pytest.param("gpt-image-1", None, id="unlisted"),
        pytest.param("gpt-image-2.5-sunburst", iso_day(0), id="shut-down-today"),
        pytest.param("gpt-image-2.5-sunburst", iso_day(-1), id="shut-down-yesterday"),
    ],
)
async def test_unlisted_or_shut_down_model_is_not_found(
    fake: FakeOpenAI, client: openai.AsyncOpenAI, model: str, shutdown: str | None
) -> None:
    if shutdown is not None:
        fake.models[model] = shutdown

    with pytest.raises(openai.NotFoundError) as caught:
        await client.images.generate(model=model, prompt=PROMPT)

    assert (caught.value.code, caught.value.type) == ("model_not_found", "invalid_request_error")
    assert caught.value.message.endswith(f"The model `{model}` does not exist or you do not have access to it.")


async def test_a_model_still_generates_before_its_shutdown_date(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.models["gpt-image-2.5-sunburst"] = iso_day(1)

    result = await client.images.generate(model="gpt-image-2.5-sunburst", prompt=PROMPT)

    assert result.data is not None


async def test_model_not_found_can_be_scripted(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.fail_next(Failure.model_not_found("gpt-image-2.5-flare"))

    with pytest.raises(openai.NotFoundError) as caught:
        await client.images.generate(model="gpt-image-2.5-flare", prompt=PROMPT)

    assert (caught.value.status_code, caught.value.code) == (404, "model_not_found")


async def test_a_model_that_does_not_make_images_is_refused(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.images.generate(model="gpt-5", prompt=PROMPT)

    assert (caught.value.code, caught.value.param) == ("invalid_value", "model")


async def test_flexible_sizes_on_2_5_but_only_standard_sizes_on_2_6(client: openai.AsyncOpenAI) -> None:
    result = await client.images.generate(model="gpt-image-2.5-flare", prompt=PROMPT, size="1536x864")
    with pytest.raises(openai.BadRequestError) as caught:
        await client.images.generate(model="gpt-image-2.6-flare", prompt=PROMPT, size="1536x864")

    assert result.data is not None
    assert decoded(result.data[0].b64_json).size == (1536, 864)
    assert result.size is None  # the spec's ImagesResponse only names the standard sizes
    assert (caught.value.status_code, caught.value.code, caught.value.param) == (400, "invalid_value", "size")


@pytest.mark.parametrize(
    "size",
    [
        pytest.param("1000x1000", id="not-multiple-of-16"),
        pytest.param("3840x1024", id="wider-than-3-to-1"),
        pytest.param("512x512", id="too-few-pixels"),
        pytest.param("3840x2176", id="too-many-pixels"),
        pytest.param("4096x1536", id="edge-over-3840"),
    ],
)
async def test_flexible_sizes_have_limits(client: openai.AsyncOpenAI, size: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.images.generate(model="gpt-image-2", prompt=PROMPT, size=size)

    assert caught.value.param == "size"


@pytest.mark.parametrize(
    ("model", "output_format"),
    [
        pytest.param("gpt-image-2", "png", id="gpt-image-2"),
        pytest.param("gpt-image-2-2026-04-21", "webp", id="gpt-image-2-snapshot"),
        pytest.param("gpt-image-2.5-flare", "jpeg", id="jpeg"),
    ],
)
async def test_transparent_background_refused(client: openai.AsyncOpenAI, model: str, output_format: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.images.generate(
            model=model,
            prompt=PROMPT,
            background="transparent",
            output_format=output_format,
        )

    assert (caught.value.code, caught.value.param) == ("invalid_value", "background")


async def test_xhigh_and_max_quality_only_on_2_5_and_2_6(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    xhigh = await client.images.generate(model="gpt-image-2.5-flare", prompt=PROMPT, quality="xhigh", n=2)
    best = await client.images.generate(model="gpt-image-2.6-sunburst", prompt=PROMPT, quality="max")
    with pytest.raises(openai.BadRequestError) as caught:
        await client.images.generate(model="gpt-image-2", prompt=PROMPT, quality="xhigh")

    assert (xhigh.quality, best.quality) == ("xhigh", "max")
    assert xhigh.usage is not None
    assert best.usage is not None
    assert (xhigh.usage.output_tokens, best.usage.output_tokens) == (14_000, 14_000)
    assert (caught.value.code, caught.value.param) == ("invalid_value", "quality")


async def test_moderation_level_must_be_auto_or_low(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        await client.images.generate(model="gpt-image-2.5-flare", prompt=PROMPT, moderation="high")

    [violation] = fake.contract_violations
    assert "at moderation" in violation
    fake.contract_violations.clear()


# --- output formats -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("output_format", "pillow_format"), [("png", "PNG"), ("webp", "WEBP"), ("jpeg", "JPEG")])
async def test_output_format_is_the_real_encoding(
    client: openai.AsyncOpenAI, output_format: str, pillow_format: str
) -> None:
    result = await client.images.generate(
        model="gpt-image-2.5-flare",
        prompt=PROMPT,
        size="1024x1536",
        output_format=output_format,
        output_compression=60,
    )

    assert result.data is not None
    image = decoded(result.data[0].b64_json)
    assert (image.format, image.size, image.mode) == (pillow_format, (1024, 1536), "RGB")
    assert (result.output_format, result.background) == (output_format, "opaque")


async def test_compression_shrinks_a_jpeg(client: openai.AsyncOpenAI) -> None:
    sizes = []
    for compression in (100, 10):
        result = await client.images.generate(
            model="gpt-image-2.5-flare", prompt=PROMPT, output_format="jpeg", output_compression=compression
        )
        assert result.data is not None
        assert result.data[0].b64_json is not None
        sizes.append(len(result.data[0].b64_json))

    assert sizes[1] < sizes[0]


@pytest.mark.parametrize(("output_format", "pillow_format"), [("png", "PNG"), ("webp", "WEBP")])
async def test_transparent_background_has_fully_transparent_pixels(
    client: openai.AsyncOpenAI, output_format: str, pillow_format: str
) -> None:
    result = await client.images.generate(
        model="gpt-image-2.6-flare",
        prompt=PROMPT,
        background="transparent",
        output_format=output_format,
    )

    assert result.data is not None
    image = decoded(result.data[0].b64_json)
    assert (image.format, image.mode) == (pillow_format, "RGBA")
    assert image.getchannel("A").getextrema() == (0, 255)
    assert image.getpixel((0, 0))[3] == 0
    assert result.background == "transparent"


async def test_stream_sends_webp_images(client: openai.AsyncOpenAI) -> None:
    stream = await client.images.generate(
        model="gpt-image-2.5-flare", prompt=PROMPT, stream=True, partial_images=1, output_format="webp", quality="max"
    )
    events = [event async for event in stream]

    [partial, completed] = events
    assert isinstance(partial, ImageGenPartialImageEvent)
    assert isinstance(completed, ImageGenCompletedEvent)
    for event in events:
        assert event.output_format == "webp"
        assert event.background == "opaque"
        assert decoded(event.b64_json).format == "WEBP"
    assert completed.quality == "max"
    assert completed.usage.output_tokens == 14_000


async def test_respond_with_url_serves_the_requested_format(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.respond_with_url = True

    result = await client.images.generate(model="gpt-image-2.5-flare", prompt=PROMPT, output_format="webp")

    assert result.data is not None
    assert result.data[0].url is not None
    async with httpx2.AsyncClient() as http:
        response = await http.get(result.data[0].url)
    assert response.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(response.content)).format == "WEBP"
