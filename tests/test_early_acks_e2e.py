"""End to end: /imagine is acknowledged from the gateway parser, before discord.py handles it, with a fallback."""

import asyncio
import functools
import logging

import discord
import pytest

from bot.client import ImagineTree
from bot.early_acks import EarlyAcknowledger
from bot.services.acknowledgements import AcknowledgementGate
from bot.services.keepalive import KeepAlivePool
from tests.conftest import RunningBot, StartBot
from tests.fakes.discord_server import FakeDiscord, FakeUser
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import DEFERRED_CHANNEL_MESSAGE, EPHEMERAL, imagine, is_result, wait_for_result

WAIT = 5.0  # a bound for a broken path, never a synchronisation
QUIET = 1.0


async def test_imagine_is_acknowledged_before_discord_py_hands_it_to_any_of_our_code(
    running_bot: RunningBot, fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked_after_ack: list[bool] = []
    check = ImagineTree.interaction_check

    async def check_once_acknowledged(tree: ImagineTree, interaction: discord.Interaction) -> bool:
        # With the usual ``defer`` in the command this would wait forever: nothing could have acknowledged yet.
        record = fake_discord.interactions[interaction.id]
        await fake_discord.wait_for(lambda: bool(record.callbacks), timeout=WAIT)
        checked_after_ack.append(True)
        return await check(tree, interaction)

    monkeypatch.setattr(ImagineTree, "interaction_check", check_once_acknowledged)
    record = await imagine(fake_discord, "two foxes", count=2)
    await wait_for_result(fake_discord, record)

    assert checked_after_ack == [True]
    (ack,) = record.callbacks
    assert ack.type == DEFERRED_CHANNEL_MESSAGE
    assert not (ack.data or {}).get("flags", 0) & EPHEMERAL
    message = record.original
    assert message is not None
    # The gallery's shared link names the placeholder, so the bot knew its id (from the early acknowledgement's
    # answer) before it posted the result.
    assert message.embeds[0]["url"].endswith(f"/{message.id}")


async def test_an_early_acknowledgement_that_fails_is_sent_again_the_usual_way(
    running_bot: RunningBot, fake_discord: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    fake_discord.failing_callbacks = 1
    with caplog.at_level(logging.WARNING, logger="bot.early_acks"):
        record = await imagine(fake_discord, "a second chance")
        await wait_for_result(fake_discord, record)

    callbacks = [r for r in fake_discord.requests if r.path.endswith("/callback") and str(record.id) in r.path]
    assert [r.status for r in callbacks] == [503, 200]
    (ack,) = record.callbacks
    assert ack.type == DEFERRED_CHANNEL_MESSAGE
    assert "got HTTP 503; deferring it as usual" in caplog.text


async def test_a_burst_is_acknowledged_in_full_before_its_jobs_start(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A quiet period no pause between dispatches can reach, however slow the machine: the burst stays one burst.
    monkeypatch.setattr("bot.runner.AcknowledgementGate", functools.partial(AcknowledgementGate, quiet_seconds=QUIET))
    await start_bot()
    members = [FakeUser(id=700000000000000000 + i, name=f"b{i}") for i in range(20)]
    records = await asyncio.gather(*(imagine(fake_discord, f"burst {m.name}", user=m) for m in members))
    await fake_discord.wait_for(lambda: all(is_result(r.original) for r in records), timeout=30)

    last_ack = max(r.callbacks[0].received_at for r in records)
    # The first command was no burst yet when it came, so its job went ahead; every later one was held until the
    # gate opened, a quiet period after the last acknowledgement was sent (and so before it was received).
    texts = [m for m in fake_openai.moderation_requests if isinstance(m.json["input"], str)]
    prompts_checked_at = {m.json["input"]: m.received_at for m in texts}
    held = [prompts_checked_at[f"burst {m.name}"] for m in members[1:]]
    assert min(held) - last_ack > QUIET / 2, "a job started before the burst of acknowledgements had paused"
    assert all(len(r.callbacks) == 1 for r in records)


async def test_a_discord_py_without_the_parser_table_defers_as_usual(caplog: pytest.LogCaptureFixture) -> None:
    async with KeepAlivePool("http://127.0.0.1:9", user_agent="t", timeout=1) as pool:
        acknowledger = EarlyAcknowledger(pool, AcknowledgementGate())
        with caplog.at_level(logging.WARNING, logger="bot.early_acks"):
            acknowledger.install(object())  # type: ignore[arg-type]
    assert "no INTERACTION_CREATE parser to hook" in caplog.text
