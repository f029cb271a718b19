"""ContentModerator over real sockets: the fake OpenAI, reached through the SDK client as the bot builds it."""

import asyncio
import base64
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import openai
import pytest
import yarl
from aiohttp import web

from bot.core.errors import ModerationUnavailableError
from bot.core.images.encoding import OFF_LOOP_THRESHOLD
from bot.core.moderation.thresholds import scores_from
from bot.providers.moderator import TEXT_REQUESTS_IN_FLIGHT, TEXTS_PER_REQUEST, ContentModerator
from tests.fakes.openai_server import Failure, FakeOpenAI
from tests.helpers import first_steps, noisy_png, server_answering


@asynccontextmanager
async def moderator_for(
    base_url: str, *, answer_within: float = 5, **client_options: str
) -> AsyncIterator[ContentModerator]:
    """A moderator on an SDK client of ``base_url``, as the bot builds it."""
    async with openai.AsyncOpenAI(
        base_url=base_url,
        api_key="sk-test",
        max_retries=0,
        http_client=openai.DefaultAioHttpClient(),
        **client_options,  # type: ignore[arg-type]
    ) as client:
        yield ContentModerator(client, answer_within=answer_within)


@pytest.fixture
async def moderator(fake_openai: FakeOpenAI) -> AsyncIterator[ContentModerator]:
    async with moderator_for(fake_openai.base_url) as moderator:
        yield moderator


async def test_text_scores_and_flags_come_from_the_endpoint(
    moderator: ContentModerator, fake_openai: FakeOpenAI
) -> None:
    fake_openai.flag("crowbar", "violence", 0.91)
    fake_openai.flag("crowbar", "harassment", 0.4, flagged=False)
    result = await moderator.check_text("a Crowbar in the rain")
    assert result.scores["violence"] == pytest.approx(0.91)
    assert result.scores["harassment"] == pytest.approx(0.4)
    assert result.flagged == {"violence"}
    assert fake_openai.moderation_requests[0].json["model"] == "omni-moderation-latest"


async def test_requests_go_below_the_clients_base_url_with_its_credentials(fake_openai: FakeOpenAI) -> None:
    async with moderator_for(fake_openai.base_url, organization="org-7", project="proj-9") as moderator:
        await moderator.check_text("a lighthouse")
    (request,) = fake_openai.moderation_requests
    assert request.path == "/v1/moderations"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert (request.headers["openai-organization"], request.headers["openai-project"]) == ("org-7", "proj-9")
    assert request.headers["user-agent"] == f"AsyncOpenAI/Python {openai.__version__}"
    assert request.headers["content-type"] == "application/json"


async def test_an_error_status_is_a_failure_logged_with_its_request_id_and_never_the_key(
    moderator: ContentModerator, fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    fake_openai.fail_next_moderation(Failure.server_error(502))
    with pytest.raises(ModerationUnavailableError, match="HTTP 502"):
        await moderator.check_text("a lighthouse")
    (request,) = fake_openai.moderation_requests
    assert f"request_id={request.request_id}" in caplog.text
    assert "sk-test" not in caplog.text


async def test_an_unreachable_endpoint_is_a_failure() -> None:
    with socket.socket() as unused:  # a port nothing listens on: the connection is refused
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    async with moderator_for(f"http://127.0.0.1:{port}/v1") as moderator:
        with pytest.raises(ModerationUnavailableError):
            await moderator.check_text("a lighthouse")


async def test_an_endpoint_that_does_not_answer_in_time_is_a_failure(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next_moderation(Failure.hang())
    async with moderator_for(fake_openai.base_url, answer_within=0.05) as moderator:
        with pytest.raises(ModerationUnavailableError, match="APITimeoutError"):
            await moderator.check_text("a lighthouse")


async def test_prompts_checked_while_requests_are_under_way_go_together_and_get_their_own_scores(
    moderator: ContentModerator, fake_openai: FakeOpenAI
) -> None:
    fake_openai.hold_moderation = True
    fake_openai.flag("crowbar", "violence", 0.91)
    first = [asyncio.create_task(moderator.check_text(f"first {i}")) for i in range(TEXT_REQUESTS_IN_FLIGHT)]
    await fake_openai.wait_for_moderation_requests(TEXT_REQUESTS_IN_FLIGHT)
    prompts = [f"later {i}" for i in range(TEXTS_PER_REQUEST + 3)]
    prompts[5] = "a crowbar"
    later = [asyncio.create_task(moderator.check_text(prompt)) for prompt in prompts]
    await first_steps()  # every later prompt is waiting now
    fake_openai.hold_moderation = False
    fake_openai.release_hung()
    results = await asyncio.gather(*first, *later)

    # Requests under way together may arrive in any order (each on a connection of its own).
    inputs = [request.json["input"] for request in fake_openai.moderation_requests]
    assert sorted(inputs[:TEXT_REQUESTS_IN_FLIGHT]) == [f"first {i}" for i in range(TEXT_REQUESTS_IN_FLIGHT)]
    assert sorted(inputs[TEXT_REQUESTS_IN_FLIGHT:], key=len, reverse=True) == [
        prompts[:TEXTS_PER_REQUEST],
        prompts[TEXTS_PER_REQUEST:],
    ]
    flagged = [
        prompt for prompt, result in zip(prompts, results[TEXT_REQUESTS_IN_FLIGHT:], strict=True) if result.flagged
    ]
    assert flagged == ["a crowbar"], "each prompt gets the result at its own place in the answer"


async def test_a_large_image_is_sent_whole_as_json(moderator: ContentModerator, fake_openai: FakeOpenAI) -> None:
    picture = noisy_png(200, 200)  # over the size whose request is built off the event loop
    assert len(picture) >= OFF_LOOP_THRESHOLD
    await moderator.check_image(picture, "image/png")
    (request,) = fake_openai.moderation_requests
    assert request.headers["content-type"] == "application/json"
    [item] = request.json["input"]
    assert item["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(picture).decode()


async def test_images_are_sent_as_data_urls(moderator: ContentModerator, fake_openai: FakeOpenAI) -> None:
    fake_openai.flag_images("sexual", 0.95)
    result = await moderator.check_image(b"\x89PNG-not-really", "image/png")
    assert result.flagged == {"sexual"}
    [item] = fake_openai.moderation_requests[0].json["input"]
    assert item["image_url"]["url"].startswith("data:image/png;base64,")


async def test_an_answer_that_is_not_a_moderation_result_is_a_failure() -> None:
    async def html(_request: web.Request) -> web.Response:
        return web.Response(text="<html>captive portal</html>", content_type="text/html")

    async with server_answering("moderations", html) as base_url, moderator_for(base_url) as moderator:
        with pytest.raises(ModerationUnavailableError, match="malformed"):
            await moderator.check_text("anything")


async def test_prompts_sent_together_but_answered_with_fewer_results_all_fail() -> None:
    held = asyncio.Event()
    arrived = asyncio.Semaphore(0)

    async def one_result_once_released(request: web.Request) -> web.Response:
        await request.read()
        arrived.release()
        await held.wait()
        result = {"flagged": False, "categories": {"violence": False}, "category_scores": {"violence": 0.01}}
        return web.json_response({"id": "modr-1", "model": "omni-moderation-latest", "results": [result]})

    async with (
        server_answering("moderations", one_result_once_released) as base_url,
        moderator_for(base_url) as moderator,
    ):
        alone = [asyncio.create_task(moderator.check_text(f"first {i}")) for i in range(TEXT_REQUESTS_IN_FLIGHT)]
        for _ in alone:
            await arrived.acquire()
        together = [asyncio.create_task(moderator.check_text(f"later {i}")) for i in range(3)]
        await first_steps()  # the later prompts are waiting now
        held.set()
        assert all(not result.flagged for result in await asyncio.gather(*alone))
        for outcome in await asyncio.gather(*together, return_exceptions=True):
            assert isinstance(outcome, ModerationUnavailableError)


def test_several_results_combine_to_the_highest_score_and_every_flag() -> None:
    result = scores_from(
        [
            {"categories": {"violence": True, "sexual": False}, "category_scores": {"violence": 0.8, "sexual": 0.1}},
            {"categories": {"violence": False, "sexual": True}, "category_scores": {"violence": 0.2, "sexual": None}},
        ]
    )
    assert dict(result.scores) == {"violence": 0.8, "sexual": 0.1}
    assert result.flagged == {"violence", "sexual"}


@pytest.mark.parametrize("results", [[], [{"categories": {}, "category_scores": {}}]])
def test_an_answer_without_scores_is_never_taken_as_clean(results: list[dict[str, dict[str, object]]]) -> None:
    with pytest.raises(ValueError, match="without scores"):
        scores_from(results)


@pytest.fixture
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment without proxy settings, for a test to add its own."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


@pytest.mark.parametrize("credentials", [None, ("bot", "s3cret")])
async def test_requests_go_through_the_proxy_the_environment_sets_and_only_its_credentials_go_to_it(
    no_proxy_settings: pytest.MonkeyPatch, credentials: tuple[str, str] | None
) -> None:
    seen: list[tuple[str, str | None]] = []

    async def proxy(request: web.Request) -> web.Response:  # answers in the server's place, as a test stand-in
        seen.append((request.headers["host"], request.headers.get("proxy-authorization")))
        result = {"flagged": False, "categories": {"violence": False}, "category_scores": {"violence": 0.01}}
        return web.json_response({"id": "modr-1", "model": "omni-moderation-latest", "results": [result]})

    with socket.socket() as unused:  # the server itself is unreachable: only the proxy can answer
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    async with server_answering("moderations", proxy) as proxy_url:
        proxy_origin = yarl.URL(proxy_url).origin()
        if credentials is not None:
            proxy_origin = proxy_origin.with_user(credentials[0]).with_password(credentials[1])
        no_proxy_settings.setenv("HTTP_PROXY", str(proxy_origin))
        async with moderator_for(f"http://127.0.0.1:{port}/v1") as moderator:
            assert not (await moderator.check_text("a lighthouse")).flagged
    expected = None if credentials is None else "Basic " + base64.b64encode(":".join(credentials).encode()).decode()
    assert seen == [(f"127.0.0.1:{port}", expected)], "the proxy's own credentials, never the API key"
