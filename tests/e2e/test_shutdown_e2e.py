"""Stopping the bot while members wait: finish what can finish, tell the rest privately, leave nothing public."""

import asyncio
import logging

import pytest

from tests.conftest import StartBot
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import Failure, FakeOpenAI
from tests.helpers import EPHEMERAL, imagine, wait_for_private_answer, wait_for_result


async def test_a_job_cut_short_by_shutdown_is_answered_privately(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot(shutdown_grace=0.05)
    fake_openai.fail_next(Failure.hang())
    record = await imagine(fake_discord, "a picture that will not be finished")
    await fake_openai.wait_for_image_requests(1)

    await bot.stop()
    fake_openai.release_hung()

    assert bot.task.exception() is None
    assert record.original is not None
    assert record.original.deleted
    (answer,) = record.followups
    assert answer.flags & EPHEMERAL
    assert "restarting" in (answer.content or "")
    assert "never retrieved" not in caplog.text


async def test_a_job_that_finishes_within_the_grace_period_is_posted(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    bot = await start_bot(shutdown_grace=30)
    fake_openai.latency = 0.2
    record = await imagine(fake_discord, "a picture finished during shutdown")
    await fake_openai.wait_for_image_requests(1)
    stopping = asyncio.create_task(bot.stop())
    await wait_for_result(fake_discord, record)
    await stopping
    assert record.original is not None
    assert not record.original.deleted
    assert not record.followups


class DrainStarted(logging.Handler):
    """Sets an event when the job tracker announces that it is waiting for running jobs."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.event = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Waiting up to"):
            self.event.set()


async def test_members_arriving_during_shutdown_are_told_privately(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.core.pipeline.tracker")
    drain_started = DrainStarted()
    jobs_log = logging.getLogger("bot.core.pipeline.tracker")
    jobs_log.addHandler(drain_started)
    try:
        await check_late_members_are_refused(start_bot, fake_discord, fake_openai, drain_started.event)
    finally:
        jobs_log.removeHandler(drain_started)


async def check_late_members_are_refused(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI, drain_started: asyncio.Event
) -> None:
    bot = await start_bot(shutdown_grace=30)
    fake_openai.fail_next(Failure.hang())
    first = await imagine(fake_discord, "the first picture")
    await fake_openai.wait_for_image_requests(1)
    stopping = asyncio.create_task(bot.stop())
    await asyncio.wait_for(drain_started.wait(), 10)

    late = await imagine(fake_discord, "a picture asked for while stopping")
    assert "restarting" in await wait_for_private_answer(fake_discord, late)

    fake_openai.release_hung()
    await stopping
    assert first.original is not None
    assert first.original.deleted
