"""ContentModerator over real sockets: the fake OpenAI through the SDK on its aiohttp transport, as the bot runs it."""

from collections.abc import AsyncIterator

import openai
import pytest
from aiohttp import web

from bot.services.errors import ModerationUnavailableError
from bot.services.moderation_endpoint import ContentModerator, scores_from
from tests.fakes.openai_server import FakeOpenAI


def client_for(base_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=base_url, api_key="sk-test", max_retries=0, http_client=openai.DefaultAioHttpClient(timeout=5)
    )


@pytest.fixture
async def moderator(fake_openai: FakeOpenAI) -> AsyncIterator[ContentModerator]:
    async with client_for(fake_openai.base_url) as client:
        yield ContentModerator(client, timeout=5)


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


async def test_images_are_sent_as_data_urls(moderator: ContentModerator, fake_openai: FakeOpenAI) -> None:
    fake_openai.flag_images("sexual", 0.95)
    result = await moderator.check_image(b"\x89PNG-not-really", "image/png")
    assert result.flagged == {"sexual"}
    [item] = fake_openai.moderation_requests[0].json["input"]
    assert item["image_url"]["url"].startswith("data:image/png;base64,")


async def test_an_answer_that_is_not_a_moderation_result_is_a_failure() -> None:
    async def html(_request: web.Request) -> web.Response:
        return web.Response(text="<html>captive portal</html>", content_type="text/html")

    app = web.Application()
    app.router.add_post("/v1/moderations", html)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with client_for(f"http://127.0.0.1:{port}/v1") as client:
            with pytest.raises(ModerationUnavailableError, match="malformed"):
                await ContentModerator(client, timeout=5).check_text("anything")
    finally:
        await runner.cleanup()


def test_several_results_combine_to_the_highest_score_and_every_flag() -> None:
    answer = {
        "results": [
            {"categories": {"violence": True, "sexual": False}, "category_scores": {"violence": 0.8, "sexual": 0.1}},
            {"categories": {"violence": False, "sexual": True}, "category_scores": {"violence": 0.2, "sexual": None}},
        ]
    }
    result = scores_from(answer)
    assert dict(result.scores) == {"violence": 0.8, "sexual": 0.1}
    assert result.flagged == {"violence", "sexual"}


@pytest.mark.parametrize("answer", [{"results": []}, {"results": [{"categories": {}, "category_scores": {}}]}])
def test_an_answer_without_scores_is_never_taken_as_clean(answer: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="without scores"):
        scores_from(answer)  # type: ignore[arg-type]
