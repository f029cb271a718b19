"""The hostile and odd prompt corpus (tests/corpus/hostile_prompts.json) through the real bot.

Each prompt ends as expected (generated, refused, invalid, or not even sent by Discord). None may crash a
handler, reach a public message unescaped, or be charged when refused.
"""

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import StartBot
from tests.fakes.discord_server import CHANNEL_ID, FakeDiscord, FakeUser, InteractionRecord
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import EPHEMERAL, fields_of, is_result, moderation, modlog_posts

SERVER_WORDS = ("ass", "cunt", "cock", "rapist")
REFUSED = re.compile(r"doesn't allow|was flagged for")
CORPUS: list[dict[str, Any]] = json.loads((Path(__file__).parents[1] / "corpus" / "hostile_prompts.json").read_text())
# What must never appear raw in a public message: pings, markdown that renders, control and direction characters.
RAW_MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d+>")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def settled(record: InteractionRecord) -> bool:
    """Answered one way or another: a private refusal, a public picture, or an immediate private message."""
    original = record.original
    immediate = bool(record.callbacks) and record.callbacks[0].type == 4
    return bool(record.followups) or is_result(original) or immediate


def test_the_corpus_is_large_and_covers_every_outcome() -> None:
    assert len(CORPUS) >= 25
    assert {case["expect"] for case in CORPUS} == {"generated", "refused", "invalid", "discord_rejects"}


async def test_every_hostile_prompt_ends_as_expected(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot(QUOTA_USER_DAILY="unlimited")
    await moderation(fake_discord, "modlog", {"channel": CHANNEL_ID})
    for word in SERVER_WORDS:  # short words the innocent cases contain inside longer ones
        await moderation(fake_discord, "blocklist add", {"entry": word})
    for case in CORPUS:
        if "flag" in case:
            fake_openai.flag(*case["flag"])

    outcomes: dict[str, str] = {}
    for index, case in enumerate(CORPUS):
        user = FakeUser(id=900000000000000000 + index, name=f"tester{index}")  # one member each: no strikes pile up
        try:
            record = await fake_discord.invoke_slash("imagine", {"prompt": case["prompt"]}, user=user)
        except ValueError:
            outcomes[case["name"]] = "discord_rejects"
            continue

        await fake_discord.wait_for(lambda r=record: settled(r))
        if record.callbacks[0].type == 4:
            data = record.callbacks[0].data or {}
            assert data["flags"] & EPHEMERAL, case["name"]
            outcomes[case["name"]] = "invalid"
        elif record.followups:
            (answer,) = record.followups
            assert answer.ephemeral, case["name"]
            assert record.original is not None, case["name"]
            assert record.original.deleted, case["name"]
            assert REFUSED.search(answer.content or ""), (case["name"], answer.content)
            outcomes[case["name"]] = "refused"
        else:
            message = record.original
            assert message is not None
            assert message.allowed_mentions == {"parse": []}
            description = message.embeds[0]["description"]  # the member's text, as everyone sees it
            assert not RAW_MENTION.search(description), case["name"]
            assert not CONTROL.search(description), case["name"]
            assert len(description) <= 1000
            outcomes[case["name"]] = "generated"

    assert outcomes == {case["name"]: case["expect"] for case in CORPUS}
    assert "Unhandled error" not in caplog.text

    generated = sum(1 for case in CORPUS if case["expect"] == "generated")
    assert len(fake_openai.image_requests) == generated, "refused and invalid prompts never reach the provider"
    assert all("\x00" not in r.json["prompt"] for r in fake_openai.image_requests)
    posts = modlog_posts(fake_discord)
    assert len(posts) == sum(1 for case in CORPUS if case["expect"] == "refused")
    for post in posts:
        prompt = fields_of(post.embeds[0])["Prompt"]
        assert prompt.startswith("||")
        assert not RAW_MENTION.search(prompt)
        assert not CONTROL.search(prompt)

    await bot.stop()  # every settlement is written before the database closes
    refused_members = [900000000000000000 + i for i, case in enumerate(CORPUS) if case["expect"] == "refused"]
    with sqlite3.connect(bot.settings.database_path) as raw:
        delivered = raw.execute("SELECT count(*) FROM generations WHERE state = 'delivered'").fetchone()[0]
        rows_of_refused = raw.execute(
            f"SELECT count(*) FROM generations WHERE user_id IN ({','.join('?' * len(refused_members))})",  # noqa: S608
            refused_members,
        ).fetchone()[0]
    assert delivered == generated, "the SQL-looking prompt did not hurt the database either"
    assert rows_of_refused == 0, "a refused prompt never reserves, so it can never be charged"
