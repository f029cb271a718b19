"""End to end: every upstream failure ends in a private, specific answer; nothing public is left behind."""

import dataclasses
import logging
import sys

import pytest

from tests.conftest import RunningBot, StartBot
from tests.fakes.discord_server import FakeDiscord, InteractionRecord
from tests.fakes.openai_server import Failure, FakeOpenAI
from tests.helpers import (
    ACK_DEADLINE_SECONDS,
    DEFERRED_CHANNEL_MESSAGE,
    imagine,
    wait_for_private_answer,
    wait_for_result,
)


def assert_nothing_public_remains(record: InteractionRecord) -> None:
    assert record.callbacks[0].type == DEFERRED_CHANNEL_MESSAGE
    assert record.acked_at is not None
    assert record.acked_at - record.dispatched_at < ACK_DEADLINE_SECONDS
    assert record.original is not None
    assert record.original.deleted, "the public placeholder (and any progress shown in it) must be removed"


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (Failure.rate_limited(retry_after="0"), "busy right now"),
        (Failure.insufficient_quota(), "budget"),
        (Failure.moderation_blocked(), "content policy"),
        (Failure.content_policy_violation(), "content policy"),
        (Failure.unverified_organization(), "isn't set up correctly"),
        (Failure.invalid_api_key(), "isn't set up correctly"),
        (Failure.server_error(500), "having trouble"),
        (Failure.server_error(503), "having trouble"),
        (Failure.bad_request("invalid_value", "size"), "rejected this request"),
    ],
    ids=lambda value: getattr(value, "code", None) or getattr(value, "status", None) or str(value)[:20],
)
async def test_each_failure_gets_its_own_private_answer(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI, failure: Failure, expected: str
) -> None:
    fake_openai.fail_next(failure)
    record = await imagine(fake_discord, "a quiet harbour")
    answer = await wait_for_private_answer(fake_discord, record)
    assert expected in answer
    assert failure.message not in answer
    assert_nothing_public_remains(record)

    # The bot keeps serving.
    next_record = await imagine(fake_discord, "a quiet harbour at dawn")
    await wait_for_result(fake_discord, next_record)


async def test_a_hung_provider_times_out_privately_while_the_ack_stays_fast(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(OPENAI_TIMEOUT="0.3")
    fake_openai.fail_next(Failure.hang())
    record = await imagine(fake_discord, "a slow sunset")
    answer = await wait_for_private_answer(fake_discord, record)
    fake_openai.release_hung()
    assert "took too long" in answer
    assert_nothing_public_remains(record)


@pytest.mark.parametrize(
    "failure",
    [Failure.moderation_blocked(), Failure.insufficient_quota(), Failure.invalid_api_key()],
    ids=["policy", "billing", "bad-key"],
)
async def test_failures_that_cannot_heal_are_never_retried(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI, failure: Failure
) -> None:
    await start_bot(OPENAI_MAX_RETRIES="2")
    # A second failure queued behind it shows up as a second request if anything retries.
    fake_openai.fail_next(fast_retry(failure), times=2)
    record = await imagine(fake_discord, "something that will not work")
    await wait_for_private_answer(fake_discord, record)
    assert len(fake_openai.image_requests) == 1


def fast_retry(failure: Failure) -> Failure:
    """The same failure, telling the client to retry after 1 ms so the test does not wait on backoff."""
    return dataclasses.replace(failure, headers={**failure.headers, "retry-after-ms": "1"})


async def test_server_errors_are_retried_then_reported(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(OPENAI_MAX_RETRIES="2")
    fake_openai.fail_next(fast_retry(Failure.server_error(502)), times=3)
    record = await imagine(fake_discord, "a storm")
    answer = await wait_for_private_answer(fake_discord, record)
    assert "having trouble" in answer
    assert len(fake_openai.image_requests) == 3


async def test_a_transient_failure_recovers_within_the_retries(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(OPENAI_MAX_RETRIES="2")
    fake_openai.fail_next(fast_retry(Failure.server_error(500)), times=1)
    fake_openai.fail_next(Failure.rate_limited(retry_after="0"), times=1)
    record = await imagine(fake_discord, "after the storm")
    await wait_for_result(fake_discord, record)
    assert len(fake_openai.image_requests) == 3
    assert not record.followups


async def test_configuration_errors_are_logged_for_the_admin_with_the_request_id(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="bot.providers.generator")
    fake_openai.fail_next(Failure.unverified_organization())
    record = await imagine(fake_discord, "a portrait")
    await wait_for_private_answer(fake_discord, record)
    request_id = fake_openai.image_requests[0].request_id
    assert request_id
    (logged,) = [r for r in caplog.records if r.name == "bot.providers.generator"]
    assert logged.levelno == logging.ERROR
    assert request_id in logged.getMessage()
    assert "NotConfiguredError" in logged.getMessage()


async def test_a_broken_image_is_answered_privately(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    def broken_factory(size: str) -> bytes:
        return b"\x89PNG\r\n\x1a\n but not really"

    fake_openai.image_factory = broken_factory
    record = await imagine(fake_discord, "a broken picture")
    answer = await wait_for_private_answer(fake_discord, record)
    assert "could not be retrieved" in answer
    assert_nothing_public_remains(record)


async def test_an_unexpected_error_is_logged_with_its_traceback_and_answered_generically(
    running_bot: RunningBot,
    fake_discord: FakeDiscord,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("internal detail members must not see")

    # The extension module as the running bot loaded it (discord.py imports extensions itself).
    monkeypatch.setattr(sys.modules["bot.discord_ui.public_job"], "result_embeds", explode)
    caplog.set_level(logging.ERROR, logger="bot.discord_ui.replies")
    record = await imagine(fake_discord, "a picture that trips a bug")
    answer = await wait_for_private_answer(fake_discord, record)
    assert "Something went wrong" in answer
    assert "internal detail" not in answer
    assert_nothing_public_remains(record)
    (logged,) = [r for r in caplog.records if r.name == "bot.discord_ui.replies"]
    assert logged.exc_info is not None
    assert "internal detail members must not see" in str(logged.exc_info[1])
