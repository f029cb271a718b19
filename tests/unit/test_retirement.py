"""RetirementWatch against the fake OpenAI: the start-up verdict, and the daily look that follows."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

import openai
import pytest
from aiohttp import web

from bot.core.errors import ConfigError, ServiceUnreachableError
from bot.providers.retirement import Retirement, RetirementWatch
from storage.database import open_database
from storage.model_notices import ModelNoticesRepository
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import server_answering

TODAY = date(2026, 12, 2)
MODEL = "gpt-image-2.5-flare"


@pytest.fixture
async def watch(tmp_path: Path, fake_openai: FakeOpenAI) -> AsyncIterator[RetirementWatch]:
    async with (
        open_database(tmp_path / "bot.db") as database,
        openai.AsyncOpenAI(api_key="sk-test", base_url=fake_openai.base_url, max_retries=0) as client,
    ):
        yield RetirementWatch(
            client, (MODEL,), ModelNoticesRepository(database), key="IMAGE_MODEL", today=lambda: TODAY
        )


async def test_a_shutdown_date_today_counts_as_shut_down(watch: RetirementWatch, fake_openai: FakeOpenAI) -> None:
    fake_openai.models[MODEL] = TODAY.isoformat()
    with pytest.raises(ConfigError) as caught:
        await watch.check_at_start()
    assert caught.value.key == "IMAGE_MODEL"
    assert f"{MODEL} was shut down on 2026-12-02" in str(caught.value)
    suggested = str(caught.value).partition("active image models: ")[2].split(", ")
    assert MODEL not in suggested
    assert "gpt-image-2.6-flare" in suggested


async def test_the_daily_look_picks_up_a_new_date_and_a_model_gone(
    watch: RetirementWatch, fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    await watch.check_at_start()
    assert watch.upcoming == ()
    fake_openai.models[MODEL] = "2027-01-01"
    with caplog.at_level(logging.WARNING, logger="bot.providers.retirement"):
        await watch.check_daily()
    assert watch.upcoming == (Retirement(MODEL, date(2027, 1, 1)),)
    assert "on 2027-01-01, in 30 day(s)" in caplog.text
    del fake_openai.models[MODEL]
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="bot.providers.retirement"):
        await watch.check_daily()
    assert f"IMAGE_MODEL '{MODEL}' is not served by the endpoint: members' requests for it fail" in caplog.text


async def test_a_failed_daily_look_keeps_what_was_known(
    watch: RetirementWatch, fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    fake_openai.models[MODEL] = "2026-12-20"
    await watch.check_at_start()
    await fake_openai.__aexit__()  # the endpoint goes away
    with caplog.at_level(logging.WARNING, logger="bot.providers.retirement"):
        await watch.check_daily()
    assert "Could not check the image models' shutdown dates today: connection refused" in caplog.text
    assert watch.upcoming == (Retirement(MODEL, date(2026, 12, 20)),)


async def test_an_endpoint_without_a_model_list_is_not_asked_again(
    watch: RetirementWatch, fake_openai: FakeOpenAI
) -> None:
    fake_openai.serves_models = False
    await watch.check_at_start()
    await watch.check_daily()
    assert len(fake_openai.model_requests) == 1


async def test_unreachable_is_not_a_configuration_error(tmp_path: Path) -> None:
    async with (
        open_database(tmp_path / "bot.db") as database,
        openai.AsyncOpenAI(api_key="sk-test", base_url="http://user:secret@127.0.0.1:9/v1", max_retries=0) as client,
    ):
        watch = RetirementWatch(client, (MODEL,), ModelNoticesRepository(database), key="IMAGE_MODEL")
        with pytest.raises(ServiceUnreachableError) as caught:
            await watch.check_at_start()
    assert str(caught.value) == (
        "could not reach the image endpoint at http://127.0.0.1:9/v1 (OPENAI_BASE_URL): connection refused"
    )


@asynccontextmanager
async def watch_of(base_url: str, tmp_path: Path) -> AsyncIterator[RetirementWatch]:
    async with (
        open_database(tmp_path / "bot.db") as database,
        openai.AsyncOpenAI(api_key="sk-test", base_url=base_url, max_retries=0) as client,
    ):
        yield RetirementWatch(
            client, (MODEL,), ModelNoticesRepository(database), key="IMAGE_MODEL", today=lambda: TODAY
        )


@pytest.mark.parametrize(
    "answer",
    [
        web.Response(text="<html>proxy dashboard</html>", content_type="text/html"),
        web.json_response(
            {
                "object": "list",
                "data": [{"id": MODEL, "object": "model", "created": 1, "owned_by": "x", "shutdown_date": 20270101}],
            }
        ),
    ],
    ids=["an HTML page", "a date that is a number"],
)
async def test_a_model_list_that_cannot_be_read_is_a_warning_not_a_crash(
    tmp_path: Path, answer: web.Response, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(_request: web.Request) -> web.Response:
        return answer

    async with server_answering("models", handler, method="GET") as base_url, watch_of(base_url, tmp_path) as watch:
        with caplog.at_level(logging.WARNING, logger="bot.providers.retirement"):
            await watch.check_at_start()
    assert watch.upcoming == ()
    (warning,) = caplog.records
    assert "could not be read" in warning.getMessage() or "unknown form" in warning.getMessage()


async def test_a_passing_server_error_at_start_leaves_the_daily_look_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    answers = [
        web.json_response(
            {"error": {"message": "busy", "type": "server_error", "param": None, "code": None}}, status=503
        ),
        web.json_response(
            {
                "object": "list",
                "data": [
                    {"id": MODEL, "object": "model", "created": 1, "owned_by": "x", "shutdown_date": "2026-12-09"}
                ],
            }
        ),
    ]

    async def handler(_request: web.Request) -> web.Response:
        return answers.pop(0)

    async with server_answering("models", handler, method="GET") as base_url, watch_of(base_url, tmp_path) as watch:
        with caplog.at_level(logging.WARNING, logger="bot.providers.retirement"):
            await watch.check_at_start()
            assert "Could not list the endpoint's models (503); trying again tomorrow" in caplog.text
            await watch.check_daily()
    assert watch.upcoming == (Retirement(MODEL, date(2026, 12, 9)),)


async def test_a_shutdown_passing_while_the_bot_runs_leaves_the_admins_lines(
    watch: RetirementWatch, fake_openai: FakeOpenAI
) -> None:
    fake_openai.models[MODEL] = "2026-12-20"
    await watch.check_at_start()
    assert watch.upcoming == (Retirement(MODEL, date(2026, 12, 20)),)
    watch.today = lambda: date(2026, 12, 20)  # no successful look since
    assert watch.upcoming == ()
