"""End to end: /imagine is acknowledged from the gateway parser, before discord.py handles it, with a fallback."""

import asyncio
import functools
import logging
from types import SimpleNamespace
from typing import Any

import discord
import pytest

from bot.client import ImagineTree
from bot.early_acks import EarlyAcknowledger
from bot.services.acknowledgements import AcknowledgementGate
from bot.services.keepalive import KeepAlivePool
from tests.conftest import RunningBot, StartBot
from tests.fakes.discord_server import FakeDiscord, FakeUser
from tests.fakes.openai_server import Failure, FakeOpenAI
from tests.helpers import (
    ACK_DEADLINE_SECONDS,
    DEFERRED_CHANNEL_MESSAGE,
    EPHEMERAL,
    imagine,
    is_result,
    moderation,
    wait_for_private_answer,
    wait_for_result,
)

WAIT = 5.0  # a bound for a broken path, never a synchronisation
QUIET = 1.0
# A quiet period no pause between dispatches can reach, however slow the machine: a burst stays one burst.
SLOW_GATE = functools.partial(AcknowledgementGate, quiet_seconds=QUIET, max_wait_seconds=10 * QUIET)


async def test_the_prompt_is_checked_while_discord_answers_the_acknowledgement(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    fake_discord.callback_answers_held = asyncio.Event()
    record = await imagine(fake_discord, "an otter juggling")
    async with asyncio.timeout(WAIT):  # a bound for a broken path: checking after the answer would wait for ever
        await fake_openai.wait_for_moderation_requests(1)
    assert fake_openai.checked_prompts.keys() == {"an otter juggling"}
    assert len(record.callbacks) == 1
    fake_discord.callback_answers_held.set()
    await wait_for_result(fake_discord, record)
    assert len(record.callbacks) == 1
    assert fake_discord.contract_violations == []


async def test_a_refusal_while_discord_answers_the_acknowledgement_waits_for_it_and_answers_once(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    fake_discord.callback_answers_held = asyncio.Event()
    record = await imagine(fake_discord, "porn")  # the blocklist refuses it at once
    await fake_discord.wait_for(lambda: bool(record.callbacks))
    await fake_discord.sync_gateway()  # the bot has had the command, and its refusal, in hand
    fake_discord.callback_answers_held.set()
    assert "appeal" in await wait_for_private_answer(fake_discord, record)
    callbacks = [r for r in fake_discord.requests if r.method == "POST" and r.path.endswith("/callback")]
    assert len(callbacks) == 1, "the refusal replaced the early acknowledgement instead of answering it again"
    assert fake_openai.moderation_requests == fake_openai.image_requests == []
    assert fake_discord.contract_violations == []


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


async def test_a_member_who_cannot_be_answered_gets_no_strike(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    fake_discord.ack_deadline = 0.0  # every answer comes too late: Discord says "Unknown interaction" (not retried)
    record = await imagine(fake_discord, "porn")  # the blocklist refuses it at once

    def attempts() -> int:
        return sum(1 for r in fake_discord.requests if r.path.endswith("/callback") and str(record.id) in r.path)

    await fake_discord.wait_for(lambda: attempts() == 3)  # early, the usual defer, then the error's own answer
    assert record.callbacks == []
    late = fake_discord.contract_violations
    assert len(late) == 3, late
    assert all("answered after" in v for v in late), late
    late.clear()  # expected here: they are what this test arranged
    fake_discord.ack_deadline = ACK_DEADLINE_SECONDS
    assert (await moderation(fake_discord, "strikes list")).embeds[0]["description"] == "none"
    assert fake_openai.image_requests == []


async def test_a_burst_is_acknowledged_in_full_before_its_jobs_start(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.runner.AcknowledgementGate", SLOW_GATE)
    await start_bot()
    members = [FakeUser(id=700000000000000000 + i, name=f"b{i}") for i in range(20)]
    records = await asyncio.gather(*(imagine(fake_discord, f"burst {m.name}", user=m) for m in members))
    await fake_discord.wait_for(lambda: all(is_result(r.original) for r in records), timeout=30)

    last_ack = max(r.callbacks[0].received_at for r in records)
    # The first command was no burst yet when it came, so its job went ahead; every later one was held until the
    # gate opened, a quiet period after the last acknowledgement was sent (and so before it was received).
    held = [fake_openai.checked_prompts[f"burst {m.name}"] for m in members[1:]]
    assert min(held) - last_ack > QUIET / 2, "a job started before the burst of acknowledgements had paused"
    assert all(len(r.callbacks) == 1 for r in records)


async def test_an_early_acknowledgement_whose_answer_was_lost_counts_as_sent(
    running_bot: RunningBot, fake_discord: FakeDiscord
) -> None:
    fake_discord.lost_callback_answers = 1
    record = await imagine(fake_discord, "did it arrive?")
    await wait_for_result(fake_discord, record)

    (ack,) = record.callbacks
    assert ack.type == DEFERRED_CHANNEL_MESSAGE
    # The usual defer went out again after the lost answer, and Discord's 40060 told the bot the first had landed.
    (violation,) = fake_discord.contract_violations
    assert "second callback" in violation
    fake_discord.contract_violations.clear()


async def test_a_failed_early_acknowledgement_in_a_burst_is_sent_again_without_waiting_for_the_burst(
    start_bot: StartBot, fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.runner.AcknowledgementGate", SLOW_GATE)
    await start_bot()
    first = await imagine(fake_discord, "first", user=FakeUser(id=710000000000000001, name="one"))
    await fake_discord.wait_for(lambda: bool(first.callbacks))
    fake_discord.failing_callbacks = 1
    second = await imagine(fake_discord, "second", user=FakeUser(id=710000000000000002, name="two"))  # a burst now
    await fake_discord.wait_for(lambda: bool(second.callbacks))
    assert second.callbacks[0].received_at - second.dispatched_at < QUIET / 2, "the retry waited for the burst"
    await wait_for_result(fake_discord, first)
    await wait_for_result(fake_discord, second)


async def test_a_command_held_in_a_burst_at_shutdown_is_answered_before_the_bot_stops(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Held work that only the shutdown itself can release.
    monkeypatch.setattr(
        "bot.runner.AcknowledgementGate", functools.partial(AcknowledgementGate, quiet_seconds=60, max_wait_seconds=60)
    )
    bot = await start_bot(shutdown_grace=30)
    fake_openai.fail_next(Failure.hang())  # keeps the shutdown waiting on the first job
    first = await imagine(fake_discord, "first", user=FakeUser(id=720000000000000001, name="one"))
    await fake_openai.wait_for_image_requests(1)
    held = await imagine(fake_discord, "held", user=FakeUser(id=720000000000000002, name="two"))
    await fake_discord.wait_for(lambda: bool(held.callbacks))

    stopping = asyncio.create_task(bot.stop())
    answer = await wait_for_private_answer(fake_discord, held)
    fake_openai.release_hung()
    await stopping
    assert "restarting" in answer
    assert held.original is not None
    assert held.original.deleted
    assert first.original is not None


def hookable_client(parsed: list[str]) -> SimpleNamespace:
    """Just what install() needs of a discord.py client: its table of gateway event parsers."""
    return SimpleNamespace(
        _connection=SimpleNamespace(
            parsers={
                "INTERACTION_CREATE": lambda data: parsed.append(data["token"]),
                "GUILD_UPDATE": lambda data: parsed.append("guild update"),
            }
        )
    )


def slash(interaction_id: int) -> dict[str, Any]:
    return {
        "id": str(interaction_id),
        "token": f"token-{interaction_id}",
        "type": 2,
        "guild_id": "1",
        "data": {"name": "imagine", "type": 1, "options": [{"name": "prompt", "value": "x"}]},
    }


async def test_held_interactions_reach_discord_py_before_any_later_gateway_event_and_at_shutdown() -> None:
    parsed: list[str] = []
    client = hookable_client(parsed)
    async with KeepAlivePool("http://127.0.0.1:9", user_agent="t", timeout=WAIT) as pool:
        acknowledger = EarlyAcknowledger(pool, AcknowledgementGate(quiet_seconds=60))
        acknowledger.acknowledge_publicly("imagine", lambda options: True)
        acknowledger.install(client)  # type: ignore[arg-type]
        parsers = client._connection.parsers
        for interaction_id in (1, 2, 3):
            parsers["INTERACTION_CREATE"](slash(interaction_id))
        assert parsed == ["token-1"], "the burst's later interactions are held"
        parsers["GUILD_UPDATE"]({})
        assert parsed == ["token-1", "token-2", "token-3", "guild update"]

        parsers["INTERACTION_CREATE"](slash(4))  # still the same burst: held
        assert parsed[-1] == "guild update"
        acknowledger.stop()
        assert parsed[-1] == "token-4", "stop() hands over what is held"
        parsers["INTERACTION_CREATE"](slash(6))
        parsers["INTERACTION_CREATE"](slash(7))
        assert parsed[-2:] == ["token-6", "token-7"], "after stop() nothing is held"


async def test_an_acknowledgement_never_adopted_is_forgotten_once_its_interaction_has_expired() -> None:
    now = 0.0
    client = hookable_client([])
    async with KeepAlivePool("http://127.0.0.1:9", user_agent="t", timeout=WAIT) as pool:
        acknowledger = EarlyAcknowledger(pool, AcknowledgementGate(quiet_seconds=60), clock=lambda: now)
        acknowledger.acknowledge_publicly("imagine", lambda options: True)
        acknowledger.install(client)  # type: ignore[arg-type]
        parse = client._connection.parsers["INTERACTION_CREATE"]
        parse(slash(1))  # never adopted: discord.py could not make an interaction of it, say
        now = 15 * 60 - 1
        parse(slash(2))
        now = 15 * 60 + 1
        parse(slash(3))
        acknowledger.stop()
        expired, alive, new = (SimpleNamespace(id=i, extras={}) for i in (1, 2, 3))
        for interaction in (expired, alive, new):
            acknowledger.adopt(interaction)  # type: ignore[arg-type]
        assert expired.extras == {}, "kept for longer than its interaction could be answered"
        await asyncio.gather(*alive.extras.values(), *new.extras.values())
    assert len(alive.extras) == len(new.extras) == 1


async def test_a_discord_py_without_the_parser_table_defers_as_usual(caplog: pytest.LogCaptureFixture) -> None:
    async with KeepAlivePool("http://127.0.0.1:9", user_agent="t", timeout=1) as pool:
        acknowledger = EarlyAcknowledger(pool, AcknowledgementGate())
        with caplog.at_level(logging.WARNING, logger="bot.early_acks"):
            acknowledger.install(object())  # type: ignore[arg-type]
    assert "no INTERACTION_CREATE parser to hook" in caplog.text
