"""End to end: the real bot against the fake Discord and fake OpenAI, asserting on what Discord receives."""

import re

import pytest

from bot.core.images.catalogue import DEFAULT_MODEL
from tests.conftest import RunningBot, StartBot
from tests.fakes.discord_server import FakeDiscord, FakeUser
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import (
    ACK_DEADLINE_SECONDS,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    EPHEMERAL,
    MEMBER,
    decoded,
    fields_of,
    imagine,
    is_result,
    noisy_png,
    wait_for_result,
)

PROXY_MODEL = "acme-diffusion-xl"
TWO_MODELS = "gpt-image-2.5-flare,gpt-image-2"


async def test_a_member_gets_a_public_picture(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    record = await imagine(fake_discord, "a red fox in the snow", aspect="3:2", quality="high")
    await wait_for_result(fake_discord, record)

    ack = record.callbacks[0]
    assert ack.type == DEFERRED_CHANNEL_MESSAGE
    assert not (ack.data or {}).get("flags", 0) & EPHEMERAL, "the thinking placeholder must be public"
    assert ack.received_at - record.dispatched_at < ACK_DEADLINE_SECONDS
    assert len(record.callbacks) == 1

    message = record.original
    assert message is not None
    assert not message.ephemeral
    assert not message.deleted
    assert message.allowed_mentions == {"parse": []}
    (attachment,) = message.attachments
    (embed,) = message.embeds
    assert embed["image"]["url"] == f"attachment://{attachment.filename}"
    assert decoded(attachment.data).size == (1536, 1024)
    assert embed["description"] == "a red fox in the snow"
    fields = fields_of(embed)
    assert fields["Requested by"] == f"<@{MEMBER.id}>"
    assert fields["Model"] == DEFAULT_MODEL
    assert fields["Size"] == "1536x1024"
    assert fields["Quality"] == "high"
    assert re.fullmatch(r"\d+\.\d s", fields["Took"])

    (sent,) = fake_openai.image_requests
    assert sent.json["model"] == DEFAULT_MODEL
    assert sent.json["prompt"] == "a red fox in the snow"
    assert (sent.json["n"], sent.json["size"], sent.json["quality"]) == (1, "1536x1024", "high")
    assert sent.json["moderation"] == "auto"
    assert sent.json["output_format"] == "png", "until the server chooses another"
    assert "output_compression" not in sent.json
    identifier = sent.json["safety_identifier"]
    assert str(MEMBER.id) not in identifier
    assert re.fullmatch(r"[0-9a-f]{64}", identifier)


async def test_the_safety_identifier_is_stable_per_member_and_differs_between_members(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    other = FakeUser(id=456789012345678901, name="other")
    for user in (MEMBER, MEMBER, other):
        await wait_for_result(fake_discord, await imagine(fake_discord, "a lighthouse", user=user))
    first, second, third = (r.json["safety_identifier"] for r in fake_openai.image_requests)
    assert first == second != third


async def test_a_chinese_prompt_with_several_pictures_arrives_in_one_message(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    prompt = "一只在夕阳下奔跑的狗"
    record = await imagine(fake_discord, prompt, count=3, aspect="2:3")
    await fake_discord.wait_for(lambda: is_result(record.original) and len(record.original.attachments) == 3)

    message = record.original
    assert message is not None
    assert message.embeds[0]["description"] == prompt
    assert [e["image"]["url"] for e in message.embeds] == [f"attachment://{a.filename}" for a in message.attachments]
    assert len({a.filename for a in message.attachments}) == 3
    (gallery,) = {e["url"] for e in message.embeds}  # one shared URL: Discord shows one gallery
    assert gallery.endswith(f"/{message.channel_id}/{message.id}")
    assert all(decoded(a.data).size == (1024, 1536) for a in message.attachments)
    assert fake_openai.image_requests[0].json["prompt"] == prompt
    assert fake_openai.image_requests[0].json["n"] == 3


async def test_the_revised_prompt_is_shown(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    fake_openai.serves_models = False  # a proxy with a model of its own, which revises prompts
    await start_bot(IMAGE_MODEL=PROXY_MODEL)
    fake_openai.revised_prompt = "A photorealistic red fox, **snow** falling, @here"
    record = await imagine(fake_discord, "fox")
    await wait_for_result(fake_discord, record)
    assert record.original is not None
    revised = fields_of(record.original.embeds[0])["Revised prompt"]
    assert "\\*\\*snow\\*\\*" in revised
    assert "@here" not in revised


async def test_user_text_cannot_ping_or_format(running_bot: RunningBot, fake_discord: FakeDiscord) -> None:
    prompt = "@everyone @here <@&234567890123456789> <@123456789012345678> **loud** ||spoiler|| \u202eevil"
    record = await imagine(fake_discord, prompt)
    await wait_for_result(fake_discord, record)
    message = record.original
    assert message is not None
    description = message.embeds[0]["description"]
    for raw in ("@everyone", "@here", "<@&234567890123456789>", "<@123456789012345678>", "**loud**", "\u202e"):
        assert raw not in description
    assert message.allowed_mentions == {"parse": []}


async def test_a_proxy_url_is_downloaded_and_uploaded_as_a_file(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    fake_openai.serves_models = False
    await start_bot(IMAGE_MODEL=PROXY_MODEL)
    fake_openai.respond_with_url = True
    record = await imagine(fake_discord, "an old-school lighthouse")
    await wait_for_result(fake_discord, record)
    assert record.original is not None
    (attachment,) = record.original.attachments
    assert decoded(attachment.data).format == "PNG"
    assert "http" not in record.original.embeds[0]["image"]["url"].removeprefix("attachment://")
    sent = fake_openai.image_requests[0].json
    assert sent["model"] == PROXY_MODEL
    assert not {"quality", "moderation", "output_format", "background"} & set(sent), "only what any model takes"


async def test_an_image_over_the_guild_upload_limit_is_reencoded_to_fit(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    limit = 10 * 1024 * 1024  # a server without boosts
    huge = noisy_png(2048, 2048)
    assert len(huge) > limit
    fake_openai.image_factory = lambda size: huge

    record = await imagine(fake_discord, "static")
    await wait_for_result(fake_discord, record)
    assert record.original is not None
    (attachment,) = record.original.attachments
    assert len(attachment.data) <= limit
    assert attachment.filename.endswith(".jpg")
    assert decoded(attachment.data).format == "JPEG"


@pytest.mark.parametrize(
    ("env", "options", "expected"),
    [
        ({"IMAGE_MODELS": f"{PROXY_MODEL},gpt-image-2"}, {"count": 2}, "at most 1 image"),
        (
            {"IMAGE_MODELS": TWO_MODELS},
            {"model": "gpt-image-2", "background": "transparent"},
            "cannot make transparent backgrounds",
        ),
        ({"IMAGE_MODELS": TWO_MODELS}, {"model": "gpt-image-2", "quality": "max"}, "quality low, medium, high"),
        ({"IMAGE_MODELS": f"{PROXY_MODEL},gpt-image-2"}, {"aspect": "16:9"}, "only makes 1:1 pictures"),
    ],
)
async def test_a_bad_combination_is_refused_privately_before_any_upstream_call(
    start_bot: StartBot,
    fake_discord: FakeDiscord,
    fake_openai: FakeOpenAI,
    env: dict[str, str],
    options: dict[str, object],
    expected: str,
) -> None:
    fake_openai.models[PROXY_MODEL] = None  # listed by a proxy that serves its own models
    await start_bot(**env)
    record = await fake_discord.invoke_slash("imagine", {"prompt": "a cat"} | options, user=MEMBER)
    await fake_discord.wait_for(lambda: bool(record.callbacks))
    (callback,) = record.callbacks
    assert callback.type == CHANNEL_MESSAGE
    assert callback.data is not None
    assert callback.data["flags"] & EPHEMERAL
    assert expected in callback.data["content"]
    assert fake_openai.image_requests == []


@pytest.mark.parametrize(
    ("models", "offered"),
    [
        (
            "gpt-image-2.6-flare",
            {
                "aspect": ["1:1", "3:2", "2:3"],
                "quality": ["low", "medium", "high", "xhigh", "max"],
                "count": [],
                "background": ["auto", "transparent", "opaque"],
            },
        ),
        (
            "gpt-image-2",
            {
                "aspect": ["1:1", "3:2", "2:3", "16:9", "9:16"],
                "quality": ["low", "medium", "high"],
                "count": [],
                "background": ["auto", "opaque"],
                "image": [],  # it edits, so pictures can be given (2.6 cannot)
                "image2": [],
                "image3": [],
            },
        ),
        (PROXY_MODEL, {}),
    ],
)
async def test_imagine_offers_what_the_models_make(
    start_bot: StartBot,
    fake_discord: FakeDiscord,
    fake_openai: FakeOpenAI,
    models: str,
    offered: dict[str, list[str]],
) -> None:
    fake_openai.models[PROXY_MODEL] = None
    await (await start_bot(IMAGE_MODELS=models)).stop()
    ((_, payload),) = fake_discord.command_registrations
    (command,) = [c for c in payload if c["name"] == "imagine"]
    options = {option["name"]: [c["value"] for c in option.get("choices", [])] for option in command["options"]}
    assert options == {"prompt": []} | offered, "one model: nothing to choose, and only what it takes"


async def test_several_models_give_a_model_option_and_each_job_runs_on_its_own(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(IMAGE_MODELS=TWO_MODELS)
    ((_, payload),) = fake_discord.command_registrations
    (command,) = [c for c in payload if c["name"] == "imagine"]
    (model_option,) = [o for o in command["options"] if o["name"] == "model"]
    assert [c["value"] for c in model_option["choices"]] == TWO_MODELS.split(",")
    assert not model_option["choices"][0].get("name_localizations"), "model names are not translated"

    chosen = await imagine(fake_discord, "a wide harbour", model="gpt-image-2", aspect="16:9")
    await wait_for_result(fake_discord, chosen)
    default = await imagine(fake_discord, "a wide harbour", aspect="16:9", quality="max")
    await wait_for_result(fake_discord, default)
    first, second = (r.json for r in fake_openai.image_requests)
    assert (first["model"], first["size"]) == ("gpt-image-2", "1536x864")
    assert (second["model"], second["size"], second["quality"]) == ("gpt-image-2.5-flare", "1536x864", "max")
    assert chosen.original is not None
    assert fields_of(chosen.original.embeds[0])["Model"] == "gpt-image-2"
    assert decoded(chosen.original.attachments[0].data).size == (1536, 864)


async def test_the_operator_chooses_the_providers_moderation_level(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(PROVIDER_MODERATION="low")
    await wait_for_result(fake_discord, await imagine(fake_discord, "a lighthouse"))
    assert fake_openai.image_requests[0].json["moderation"] == "low"


BOOSTED_GUILD_ID = 1146109873520791999
BOOSTED_LIMIT = 50 * 1024 * 1024  # premium tier 2


@pytest.fixture
def boosted_guild(fake_discord: FakeDiscord) -> int:
    """A second server, with level 2 boosts, that the bot is in."""
    fake_discord.add_guild(BOOSTED_GUILD_ID, premium_tier=2, name="Boosted")
    return BOOSTED_GUILD_ID


async def test_a_boosted_server_gets_the_original_file(
    boosted_guild: int, running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    huge = noisy_png(2048, 2048)
    assert 10 * 1024 * 1024 < len(huge) < BOOSTED_LIMIT
    fake_openai.image_factory = lambda size: huge
    record = await fake_discord.invoke_slash("imagine", {"prompt": "static"}, user=MEMBER, guild_id=boosted_guild)
    await wait_for_result(fake_discord, record)
    assert record.original is not None
    (attachment,) = record.original.attachments
    assert attachment.data == huge
    assert attachment.filename.endswith(".png")


async def test_a_file_discord_refuses_as_too_large_is_explained_privately(
    boosted_guild: int, running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    huge = noisy_png(2048, 2048)

    def lose_boosts_then_answer(size: str) -> bytes:
        # The server loses its boosts while the picture is made: Discord now refuses the upload with 413.
        fake_discord.guild_premium_tier[boosted_guild] = 0
        return huge

    fake_openai.image_factory = lose_boosts_then_answer
    record = await fake_discord.invoke_slash("imagine", {"prompt": "static"}, user=MEMBER, guild_id=boosted_guild)
    await fake_discord.wait_for(lambda: bool(record.followups))
    (answer,) = record.followups
    assert answer.ephemeral
    assert "too large to upload" in (answer.content or "")
    assert record.original is not None
    assert record.original.deleted
    assert [v for v in fake_discord.contract_violations if "over the guild" in v], "the fake saw the oversized file"
    fake_discord.contract_violations.clear()
