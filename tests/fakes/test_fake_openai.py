"""Tests of the fake OpenAI server, driven through the real ``openai.AsyncOpenAI`` client."""

import asyncio
import base64
import io
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import openai
import pytest
from openai.types import (
    ImageEditCompletedEvent,
    ImageEditPartialImageEvent,
    ImageGenCompletedEvent,
    ImageGenPartialImageEvent,
    Moderation,
)
from PIL import Image

from tests.fakes.openai_server import ACTIVE_IMAGE_MODELS, Failure, FakeOpenAI

PROMPT = "a lighthouse at dusk"
RED, BLUE = (255, 0, 0), (0, 0, 255)


def png_size(data: bytes) -> tuple[int, int]:
    """The size of a PNG, after Pillow has fully decoded it."""
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        image.load()
        return image.size


def decoded(b64: str | None) -> Image.Image:
    """The image in ``b64``, fully decoded by Pillow (``format`` kept)."""
    assert b64 is not None
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    image.load()
    return image


def solid(colour: tuple[int, int, int], image_format: str = "png", size: tuple[int, int] = (48, 32)) -> bytes:
    """A picture of one colour, encoded as ``image_format``."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=image_format)
    return buffer.getvalue()


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


async def test_generate_returns_n_pngs_of_the_requested_size(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    result = await client.images.generate(
        model="gpt-image-2.5-flare",
        prompt=PROMPT,
        n=2,
        size="1536x1024",
        quality="low",
        safety_identifier="user-hash-1",
    )

    assert len(result.data) == 2
    for item in result.data:
        assert item.url is None
        assert item.b64_json is not None
        assert png_size(base64.b64decode(item.b64_json)) == (1536, 1024)
    assert (result.size, result.quality, result.output_format) == ("1536x1024", "low", "png")
    assert result.usage is not None
    assert result.usage.total_tokens > 0
    [recorded] = fake.image_requests
    assert recorded.path == "/v1/images/generations"
    assert recorded.json["safety_identifier"] == "user-hash-1"
    assert recorded.json["prompt"] == PROMPT
    assert recorded.headers["authorization"] == "Bearer sk-test"


async def test_auto_size_means_1024_square_and_revised_prompt_is_echoed(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.revised_prompt = "A tall lighthouse glowing at dusk"

    result = await client.images.generate(model="gpt-image-2.5-flare", prompt=PROMPT)

    [item] = result.data
    assert item.revised_prompt == "A tall lighthouse glowing at dusk"
    assert item.b64_json is not None
    assert png_size(base64.b64decode(item.b64_json)) == (1024, 1024)


async def test_raw_json_answer_has_exact_content_type_and_request_id(fake: FakeOpenAI) -> None:
    async with httpx2.AsyncClient() as http:
        response = await http.post(f"{fake.base_url}/images/generations", json={"prompt": PROMPT, "size": "256x256"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"] == fake.image_requests[0].request_id == "req_1"
    assert "size" not in response.json()  # the spec's ImagesResponse only names the GPT image sizes


async def test_stream_yields_partial_images_then_the_completed_image(client: openai.AsyncOpenAI) -> None:
    stream = await client.images.generate(
        model="gpt-image-2.5-flare", prompt=PROMPT, size="1024x1536", stream=True, partial_images=2
    )
    events = [event async for event in stream]

    assert [type(event) for event in events] == [
        ImageGenPartialImageEvent,
        ImageGenPartialImageEvent,
        ImageGenCompletedEvent,
    ]
    partials = [event for event in events if isinstance(event, ImageGenPartialImageEvent)]
    assert [event.partial_image_index for event in partials] == [0, 1]
    for event in events:
        assert png_size(base64.b64decode(event.b64_json)) == (1024, 1536)


async def test_stream_wire_format_is_event_and_data_lines_without_done(fake: FakeOpenAI) -> None:
    body = {"model": "gpt-image-2.5-flare", "prompt": PROMPT, "stream": True, "partial_images": 1}
    async with httpx2.AsyncClient() as http:
        response = await http.post(f"{fake.base_url}/images/generations", json=body)

    assert response.headers["content-type"] == "text/event-stream"
    frames = response.text.split("\n\n")
    assert frames[-1] == ""  # every frame is terminated by a blank line
    parsed = [frame.split("\n") for frame in frames[:-1]]
    assert [lines[0] for lines in parsed] == [
        "event: image_generation.partial_image",
        "event: image_generation.completed",
    ]
    for event_line, data_line in parsed:
        assert data_line.startswith("data: ")
        assert json.loads(data_line.removeprefix("data: "))["type"] == event_line.removeprefix("event: ")
    assert "[DONE]" not in response.text


async def test_respond_with_url_serves_the_png(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.respond_with_url = True
    fake.serves_models = False  # a proxy, still serving a retired model under its own name

    result = await client.images.generate(model="dall-e-3", prompt=PROMPT, size="1024x1792")

    [item] = result.data
    assert item.b64_json is None
    assert item.url is not None
    assert item.url.startswith("http://127.0.0.1:")
    async with httpx2.AsyncClient() as http:
        response = await http.get(item.url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert png_size(response.content) == (1024, 1792)


async def test_image_factory_can_be_replaced(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    requested: list[str] = []

    def factory(size: str) -> bytes:
        requested.append(size)
        return b"not really an image"

    fake.image_factory = factory

    result = await client.images.generate(model="gpt-image-2.5-flare", prompt=PROMPT, size="1024x1024")

    assert requested == ["1024x1024"]
    assert result.data is not None
    assert result.data[0].b64_json == base64.b64encode(b"not really an image").decode()


@pytest.mark.parametrize(
    ("failure", "error_class", "expected"),
    [
        pytest.param(
            Failure.moderation_blocked(),
            openai.BadRequestError,
            ("moderation_blocked", "image_generation_user_error"),
            id="moderation_blocked",
        ),
        pytest.param(
            Failure.content_policy_violation(),
            openai.BadRequestError,
            ("content_policy_violation", "invalid_request_error"),
            id="content_policy_violation",
        ),
        pytest.param(
            Failure.bad_request(param="size"),
            openai.BadRequestError,
            ("invalid_value", "invalid_request_error"),
            id="bad_request",
        ),
        pytest.param(
            Failure.insufficient_quota(),
            openai.RateLimitError,
            ("insufficient_quota", "insufficient_quota"),
            id="insufficient_quota",
        ),
        pytest.param(
            Failure.rate_limited(), openai.RateLimitError, ("rate_limit_exceeded", "requests"), id="rate_limited"
        ),
        pytest.param(
            Failure.unverified_organization(),
            openai.PermissionDeniedError,
            (None, "invalid_request_error"),
            id="unverified_organization",
        ),
        pytest.param(
            Failure.invalid_api_key(),
            openai.AuthenticationError,
            ("invalid_api_key", "invalid_request_error"),
            id="invalid_api_key",
        ),
        pytest.param(Failure.server_error(), openai.InternalServerError, (None, "server_error"), id="server_error"),
        pytest.param(Failure.server_error(503), openai.InternalServerError, (None, "server_error"), id="server_503"),
    ],
)
async def test_failures_map_to_sdk_errors(
    fake: FakeOpenAI,
    client: openai.AsyncOpenAI,
    failure: Failure,
    error_class: type[openai.APIStatusError],
    expected: tuple[str | None, str],
) -> None:
    fake.fail_next(failure)

    with pytest.raises(error_class) as caught:
        await client.images.generate(model="gpt-image-2.5-flare", prompt=PROMPT)

    error = caught.value
    assert (error.code, error.type) == expected
    assert error.status_code == failure.status
    assert error.param == failure.param
    assert error.message.endswith(failure.message)
    [recorded] = fake.image_requests
    assert error.request_id == recorded.request_id
    assert error.request_id is not None
    assert error.request_id.startswith("req_")


async def test_rate_limit_headers(fake: FakeOpenAI) -> None:
    fake.fail_next(Failure.rate_limited("2"))
    async with httpx2.AsyncClient() as http:
        response = await http.post(f"{fake.base_url}/images/generations", json={"prompt": PROMPT})

    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.headers["retry-after-ms"] == "2000"
    assert Failure.rate_limited().headers == {"retry-after": "0", "retry-after-ms": "1"}


async def test_sdk_retries_scripted_failures_then_succeeds(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.fail_next(Failure.rate_limited(), times=2)
    started = time.perf_counter()

    result = await client.with_options(max_retries=2).images.generate(model="gpt-image-2.5-flare", prompt=PROMPT)

    # retry-after-ms: 1 makes the SDK wait 1 ms instead of its 0.5 s / 1 s exponential backoff.
    assert time.perf_counter() - started < 0.5
    assert result.data is not None
    assert len(result.data) == 1
    assert [request.headers["x-stainless-retry-count"] for request in fake.image_requests] == ["0", "1", "2"]


async def test_failures_are_consumed_in_order(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.fail_next(Failure.invalid_api_key())
    fake.fail_next(Failure.moderation_blocked())

    with pytest.raises(openai.AuthenticationError):
        await client.images.generate(model="gpt-image-2.5-flare", prompt=PROMPT)
    with pytest.raises(openai.BadRequestError):
        await client.images.generate(model="gpt-image-2.5-flare", prompt=PROMPT)
    result = await client.images.generate(model="gpt-image-2.5-flare", prompt=PROMPT)

    assert result.data is not None
    assert len(fake.image_requests) == 3


async def test_hang_times_the_client_out(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.fail_next(Failure.hang())

    with pytest.raises(openai.APITimeoutError):
        await client.with_options(timeout=0.2).images.generate(model="gpt-image-2.5-flare", prompt=PROMPT)

    assert len(fake.image_requests) == 1
    fake.release_hung()


async def test_wait_for_image_requests_while_a_request_hangs(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.fail_next(Failure.hang())
    call = asyncio.create_task(client.images.generate(model="gpt-image-2.5-flare", prompt=PROMPT))

    await fake.wait_for_image_requests(1)

    assert not call.done()
    fake.release_hung()
    with pytest.raises(openai.InternalServerError):
        await call


async def test_latency_delays_the_answer_but_not_the_arrival(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.latency = 0.1

    await client.images.generate(model="gpt-image-2.5-flare", prompt=PROMPT)

    answered = time.perf_counter()
    [recorded] = fake.image_requests
    assert answered - recorded.received_at >= fake.upstream_holds[recorded.request_id] >= 0.1


async def test_a_stream_sends_partial_images_during_the_latency_and_the_image_at_its_end(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.latency = 0.3
    stream = await client.images.generate(model="gpt-image-2.5-flare", prompt=PROMPT, stream=True, partial_images=2)
    arrivals = [(event.type, time.perf_counter()) async for event in stream]

    [recorded] = fake.image_requests
    partials = [at - recorded.received_at for kind, at in arrivals if kind == "image_generation.partial_image"]
    [completed] = [at - recorded.received_at for kind, at in arrivals if kind == "image_generation.completed"]
    assert len(partials) == 2
    assert 0.1 <= partials[0] < partials[1] < completed, "a third, two thirds, then all of the latency"
    assert completed >= fake.upstream_holds[recorded.request_id] >= 0.3, "the hold it records is what it waited"


async def test_invalid_request_is_rejected_and_noted(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        await client.images.generate(model="gpt-image-2.5-flare", prompt=PROMPT, n=11)

    [violation] = fake.contract_violations
    assert "at n: 11 is greater than the maximum of 10" in violation
    fake.contract_violations.clear()


async def test_unknown_route_is_an_openai_style_404(fake: FakeOpenAI) -> None:
    async with httpx2.AsyncClient() as http:
        response = await http.get(f"{fake.base_url}/images/generations")

    assert response.status_code == 404
    assert response.headers["x-request-id"].startswith("req_")
    assert response.json() == {
        "error": {
            "message": "Invalid URL (GET /v1/images/generations)",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    assert fake.contract_violations == ["unknown route: GET /v1/images/generations"]
    fake.contract_violations.clear()


async def test_moderation_is_not_flagged_by_default(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    response = await client.moderations.create(model="omni-moderation-latest", input=PROMPT)

    [result] = response.results
    assert result.flagged is False
    assert not any(result.categories.model_dump().values())
    assert max(result.category_scores.model_dump().values()) < 0.01
    assert fake.moderation_requests[0].json["input"] == PROMPT


async def test_flagged_term_flags_its_category(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.flag("knife", "violence")

    response = await client.moderations.create(
        model="omni-moderation-latest", input=["a cat", "a man with a KNIFE", "a dog"]
    )

    assert [result.flagged for result in response.results] == [False, True, False]
    flagged = response.results[1]
    assert flagged.categories.violence is True
    assert flagged.categories.sexual is False
    assert flagged.category_scores.violence == 0.97


async def test_multimodal_moderation_gives_one_result(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.flag("knife", "violence/graphic", score=0.8)
    image = base64.b64encode(b"\x89PNG fake bytes").decode()

    response = await client.moderations.create(
        model="omni-moderation-latest",
        input=[
            {"type": "text", "text": "knife"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image}"}},
        ],
    )

    [result] = response.results
    assert result.flagged is True
    assert result.categories.violence_graphic is True
    assert result.category_scores.violence_graphic == 0.8
    assert result.category_applied_input_types.violence == ["text", "image"]
    assert result.category_applied_input_types.hate == ["text"]


async def test_flag_image_colour_flags_only_pictures_of_that_colour(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.flag_image_colour(RED, "violence", score=0.9)

    async def check(url: str) -> Moderation:
        response = await client.moderations.create(
            model="omni-moderation-latest", input=[{"type": "image_url", "image_url": {"url": url}}]
        )
        [result] = response.results
        return result

    red = await check(f"data:image/png;base64,{base64.b64encode(solid(RED)).decode()}")
    red_jpeg = await check(f"data:image/jpeg;base64,{base64.b64encode(solid(RED, 'jpeg')).decode()}")
    blue = await check(f"data:image/png;base64,{base64.b64encode(solid(BLUE)).decode()}")
    linked = await check("https://example.com/red.png")  # the fake cannot see a linked picture's colour

    assert [result.flagged for result in (red, red_jpeg, blue, linked)] == [True, True, False, False]
    assert (red.categories.violence, red.categories.sexual) == (True, False)
    assert red.category_scores.violence == 0.9
    assert blue.category_scores.violence < 0.01
    assert len(fake.image_checks) == 4
    with pytest.raises(ValueError, match="not scored for images"):
        fake.flag_image_colour(RED, "hate")


async def test_moderation_outage(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.fail_next_moderation(Failure.server_error(502))

    with pytest.raises(openai.InternalServerError) as caught:
        await client.moderations.create(model="omni-moderation-latest", input=PROMPT)
    response = await client.moderations.create(model="omni-moderation-latest", input=PROMPT)

    assert caught.value.status_code == 502
    assert response.results[0].flagged is False
    assert fake.image_requests == []


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
        await client.images.edit(model="gpt-image-2", prompt=PROMPT, image=("red.png", solid(RED), "image/png"))
    with pytest.raises(openai.AuthenticationError):
        await client.moderations.create(model="omni-moderation-latest", input=PROMPT)
    right = client.with_options(api_key="sk-right")
    listed = [model.id async for model in right.models.list()]
    generated = await right.images.generate(model="gpt-image-2.5-flare", prompt=PROMPT)

    assert (caught.value.status_code, caught.value.code) == (401, "invalid_api_key")
    assert "gpt-image-2.5-flare" in listed
    assert generated.data is not None
    assert len(fake.model_requests) == len(fake.image_requests) == 2
    assert len(fake.moderation_requests) == len(fake.edit_requests) == 1


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


# --- POST /v1/images/edits ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("first", "second"), [(RED, BLUE), (BLUE, RED)], ids=["red-first", "blue-first"])
async def test_edit_records_every_part_and_paints_the_first_inputs_colour(
    fake: FakeOpenAI, client: openai.AsyncOpenAI, first: tuple[int, int, int], second: tuple[int, int, int]
) -> None:
    first_png, second_jpeg = solid(first), solid(second, "jpeg")

    result = await client.images.edit(
        image=[("first.png", first_png, "image/png"), ("second.jpg", second_jpeg, "image/jpeg")],
        prompt=PROMPT,
        model="gpt-image-2",
        n=2,
        size="1536x1024",
        quality="medium",
        background="opaque",
        output_format="png",
        output_compression=100,
        safety_identifier="user-hash-1",
        input_fidelity="high",
    )

    assert result.data is not None
    assert len(result.data) == 2
    for item in result.data:
        image = decoded(item.b64_json)
        assert (image.format, image.size) == ("PNG", (1536, 1024))
        assert {image.getpixel((x, y)) for x in range(8) for y in range(8)} == {first}
        assert image.getpixel((100, 100)) not in {RED, BLUE}, "only the corner takes the input's colour"
    assert (result.size, result.quality, result.output_format, result.background) == (
        "1536x1024",
        "medium",
        "png",
        "opaque",
    )
    assert result.usage is not None
    assert result.usage.total_tokens > 0
    [recorded] = fake.edit_requests
    assert recorded.path == "/v1/images/edits"
    assert [(part.field, part.filename, part.content_type) for part in recorded.images] == [
        ("image[]", "first.png", "image/png"),
        ("image[]", "second.jpg", "image/jpeg"),
    ]
    assert [part.data for part in recorded.images] == [first_png, second_jpeg]
    assert recorded.mask is None
    assert recorded.fields == {
        "prompt": PROMPT,
        "model": "gpt-image-2",
        "n": "2",
        "size": "1536x1024",
        "quality": "medium",
        "background": "opaque",
        "output_format": "png",
        "output_compression": "100",
        "safety_identifier": "user-hash-1",
        "input_fidelity": "high",
    }
    assert recorded.headers["authorization"] == "Bearer sk-test"
    assert fake.image_requests == [], "edits are not counted as generations"


@pytest.mark.parametrize(("output_format", "tolerance"), [("png", 0), ("webp", 8), ("jpeg", 8)])
async def test_edit_answers_in_the_requested_format_keeping_the_corner_colour(
    fake: FakeOpenAI, client: openai.AsyncOpenAI, output_format: str, tolerance: int
) -> None:
    result = await client.images.edit(
        image=("red.png", solid(RED), "image/png"),
        prompt=PROMPT,
        model="gpt-image-2.5-sunburst",
        output_format=output_format,
        output_compression=90,
    )

    assert result.data is not None
    image = decoded(result.data[0].b64_json)
    assert (image.format, image.size) == (output_format.upper(), (1024, 1024))
    assert all(abs(got - want) <= tolerance for got, want in zip(image.getpixel((4, 4)), RED, strict=True))
    assert fake.edit_requests[0].images[0].field == "image", "a lone file is sent as `image`, not `image[]`"


async def test_edit_stream_sends_partial_images_then_the_edited_image(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    stream = await client.images.edit(
        image=[("blue.png", solid(BLUE), "image/png")],
        prompt=PROMPT,
        model="gpt-image-2.5-flare-2026-09-08",
        size="1024x1536",
        quality="xhigh",
        stream=True,
        partial_images=2,
    )
    events = [event async for event in stream]

    assert [type(event) for event in events] == [
        ImageEditPartialImageEvent,
        ImageEditPartialImageEvent,
        ImageEditCompletedEvent,
    ]
    partials = [event for event in events if isinstance(event, ImageEditPartialImageEvent)]
    assert [event.partial_image_index for event in partials] == [0, 1]
    for event in events:
        assert decoded(event.b64_json).size == (1024, 1536)
        assert event.size == "1024x1536"
    [completed] = [event for event in events if isinstance(event, ImageEditCompletedEvent)]
    assert decoded(completed.b64_json).getpixel((0, 0)) == BLUE
    assert completed.quality == "xhigh"
    assert completed.usage.output_tokens == 7000
    [recorded] = fake.edit_requests
    assert (recorded.fields["stream"], recorded.fields["partial_images"]) == ("true", "2")


@pytest.mark.parametrize(
    "model",
    [
        "gpt-image-2",
        "gpt-image-2-2026-04-21",
        "gpt-image-2.5-flare",
        "gpt-image-2.5-flare-2026-09-08",
        "gpt-image-2.5-sunburst",
        "gpt-image-2.5-sunburst-2026-09-08",
    ],
)
async def test_these_models_edit(client: openai.AsyncOpenAI, model: str) -> None:
    result = await client.images.edit(image=("red.png", solid(RED), "image/png"), prompt=PROMPT, model=model)

    assert result.data is not None
    assert decoded(result.data[0].b64_json).getpixel((0, 0)) == RED


@pytest.mark.parametrize("model", ["gpt-image-2.6-flare", "gpt-image-2.6-sunburst"])
async def test_a_model_that_cannot_edit_is_refused(fake: FakeOpenAI, client: openai.AsyncOpenAI, model: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.images.edit(image=("red.png", solid(RED), "image/png"), prompt=PROMPT, model=model)
    generated = await client.images.generate(model=model, prompt=PROMPT)

    assert (caught.value.type, caught.value.param) == ("invalid_request_error", "model")
    assert caught.value.message.endswith(f"The model `{model}` does not support image edits.")
    assert generated.data is not None, "it still generates"


@pytest.mark.parametrize(
    ("model", "options", "param"),
    [
        pytest.param("gpt-image-2", {"size": "1000x1000"}, "size", id="size"),
        pytest.param("gpt-image-2", {"background": "transparent"}, "background", id="background"),
        pytest.param("gpt-image-2", {"quality": "xhigh"}, "quality", id="quality"),
        pytest.param(
            "gpt-image-2.5-flare",
            {"output_format": "jpeg", "background": "transparent"},
            "background",
            id="jpeg-transparent",
        ),
    ],
)
async def test_edits_follow_the_per_model_rules(
    client: openai.AsyncOpenAI, model: str, options: dict[str, str], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.images.edit(image=("red.png", solid(RED), "image/png"), prompt=PROMPT, model=model, **options)

    assert (caught.value.code, caught.value.param) == ("invalid_value", param)


async def test_an_edit_with_a_shut_down_model_is_not_found(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.models["gpt-image-2.5-flare"] = iso_day(0)

    with pytest.raises(openai.NotFoundError) as caught:
        await client.images.edit(image=("red.png", solid(RED), "image/png"), prompt=PROMPT, model="gpt-image-2.5-flare")

    assert caught.value.code == "model_not_found"


async def test_without_serves_edits_the_route_is_a_proxys_404(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.serves_edits = False

    with pytest.raises(openai.NotFoundError) as caught:
        await client.images.edit(image=("red.png", solid(RED), "image/png"), prompt=PROMPT, model="gpt-image-2")
    generated = await client.images.generate(model="gpt-image-2", prompt=PROMPT)

    assert caught.value.body == {
        "message": "Invalid URL (POST /v1/images/edits)",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    assert len(fake.edit_requests) == 1
    assert generated.data is not None


@pytest.mark.parametrize(
    ("upload", "code", "message"),
    [
        pytest.param(
            ("notes.txt", b"just words", "text/plain"),
            "unsupported_file_mimetype",
            "Invalid file 'image': unsupported mimetype ('text/plain').",
            id="text-file",
        ),
        pytest.param(
            solid(RED),
            "unsupported_file_mimetype",
            "Invalid file 'image': unsupported mimetype ('application/octet-stream').",
            id="bare-bytes-without-a-content-type",
        ),
        pytest.param(
            ("fake.png", b"just words", "image/png"),
            "invalid_value",
            "Invalid image file or mode for image 2",
            id="not-an-image",
        ),
        pytest.param(
            ("anim.png", solid(RED, "gif"), "image/png"),
            "invalid_value",
            "Invalid image file or mode for image 2",
            id="gif",
        ),
        pytest.param(
            ("cut.png", solid(RED)[:60], "image/png"),
            "invalid_value",
            "Invalid image file or mode for image 2",
            id="truncated",
        ),
    ],
)
async def test_an_image_part_that_is_not_a_png_jpeg_or_webp_is_refused(
    fake: FakeOpenAI, client: openai.AsyncOpenAI, upload: Any, code: str, message: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.images.edit(
            image=[("red.png", solid(RED), "image/png"), upload], prompt=PROMPT, model="gpt-image-2"
        )

    error = caught.value
    assert (error.status_code, error.type, error.param, error.code) == (400, "invalid_request_error", "image", code)
    assert message in error.message
    assert len(fake.edit_requests[0].images) == 2


async def test_an_image_sent_as_text_is_refused(fake: FakeOpenAI) -> None:
    form = {"prompt": (None, PROMPT), "model": (None, "gpt-image-2"), "image": (None, "red.png")}
    async with httpx2.AsyncClient() as http:
        response = await http.post(f"{fake.base_url}/images/edits", files=form)

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "image"
    assert response.json()["error"]["code"] == "invalid_type"
    [recorded] = fake.edit_requests
    assert (recorded.images[0].filename, recorded.images[0].data) == (None, b"red.png")


@pytest.mark.parametrize(
    "mask",
    [
        pytest.param(("mask.png", solid(RED, size=(32, 32)), "image/png"), id="other-size"),
        pytest.param(("mask.jpg", solid(RED, "jpeg"), "image/jpeg"), id="jpeg"),
    ],
)
async def test_a_mask_must_be_a_png_of_the_first_images_size(
    fake: FakeOpenAI, client: openai.AsyncOpenAI, mask: tuple[str, bytes, str]
) -> None:
    image = ("red.png", solid(RED), "image/png")
    fitting = solid(BLUE)

    result = await client.images.edit(
        image=image, mask=("mask.png", fitting, "image/png"), prompt=PROMPT, model="gpt-image-2"
    )
    with pytest.raises(openai.BadRequestError) as caught:
        await client.images.edit(image=image, mask=mask, prompt=PROMPT, model="gpt-image-2")

    assert result.data is not None
    first, _ = fake.edit_requests
    assert first.mask is not None
    assert (first.mask.field, first.mask.data) == ("mask", fitting)
    assert caught.value.param == "mask"


async def test_at_most_16_images(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    red = ("red.png", solid(RED), "image/png")

    result = await client.images.edit(image=[red] * 16, prompt=PROMPT, model="gpt-image-2")
    with pytest.raises(openai.BadRequestError):
        await client.images.edit(image=[red] * 17, prompt=PROMPT, model="gpt-image-2")

    assert result.data is not None
    assert [len(recorded.images) for recorded in fake.edit_requests] == [16, 17]
    [violation] = fake.contract_violations
    assert "at image:" in violation
    assert "is too long" in violation
    fake.contract_violations.clear()


@pytest.mark.parametrize(
    ("n", "problem"),
    [
        pytest.param(11, "at n: 11 is greater than the maximum of 10", id="parsed-then-checked"),
        pytest.param("many", "at n: 'many' is not of type 'integer'", id="not-a-number"),
    ],
)
async def test_form_numbers_are_checked_as_numbers(
    fake: FakeOpenAI, client: openai.AsyncOpenAI, n: Any, problem: str
) -> None:
    with pytest.raises(openai.BadRequestError):
        await client.images.edit(image=("red.png", solid(RED), "image/png"), prompt=PROMPT, model="gpt-image-2", n=n)

    [violation] = fake.contract_violations
    assert problem in violation
    fake.contract_violations.clear()


async def test_a_json_edit_is_refused_and_noted(fake: FakeOpenAI) -> None:
    body = {"prompt": PROMPT, "images": [{"image_url": "https://example.com/red.png"}]}
    async with httpx2.AsyncClient() as http:
        response = await http.post(f"{fake.base_url}/images/edits", json=body)

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert fake.contract_violations == ["POST /v1/images/edits: the fake only reads multipart/form-data edits"]
    fake.contract_violations.clear()


async def test_scripted_failures_hit_the_next_image_request_generation_or_edit(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.fail_next(Failure.rate_limited())
    fake.fail_next(Failure.moderation_blocked())
    image = ("red.png", solid(RED), "image/png")

    with pytest.raises(openai.RateLimitError):
        await client.images.edit(image=image, prompt=PROMPT, model="gpt-image-2")
    with pytest.raises(openai.BadRequestError) as caught:
        await client.images.generate(model="gpt-image-2", prompt=PROMPT)
    edited = await client.images.edit(image=image, prompt=PROMPT, model="gpt-image-2")

    assert caught.value.code == "moderation_blocked"
    assert edited.data is not None
    assert (len(fake.edit_requests), len(fake.image_requests)) == (2, 1)


async def test_wait_for_edit_requests_while_an_edit_hangs(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.fail_next(Failure.hang())
    call = asyncio.create_task(
        client.images.edit(image=("red.png", solid(RED), "image/png"), prompt=PROMPT, model="gpt-image-2")
    )

    await fake.wait_for_edit_requests(1)

    assert not call.done()
    fake.release_hung()
    with pytest.raises(openai.InternalServerError):
        await call


async def test_latency_delays_an_edit(fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    fake.latency = 0.1

    await client.images.edit(image=("red.png", solid(RED), "image/png"), prompt=PROMPT, model="gpt-image-2")

    answered = time.perf_counter()
    [recorded] = fake.edit_requests
    assert answered - recorded.received_at >= fake.upstream_holds[recorded.request_id] >= 0.1
