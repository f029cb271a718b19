"""End to end: the buttons on a result (even after a restart), /history and /help."""

from tests.conftest import RunningBot, StartBot
from tests.fakes.discord_server import FakeDiscord, FakeMessage, FakeUser
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import (
    MEMBER,
    buttons,
    decoded,
    fields_of,
    imagine,
    is_result,
    wait_for_ephemeral_reply,
    wait_for_private_answer,
    wait_for_result,
)

OTHER = FakeUser(id=456789012345678901, name="other_member")
MANAGE_MESSAGES = 1 << 13
PLAIN = 0x400 | 0x800


async def result_of(fake: FakeDiscord, prompt: str, **options: object) -> FakeMessage:
    record = await imagine(fake, prompt, **options)
    await wait_for_result(fake, record)
    assert record.original is not None
    return record.original


async def test_reroll_after_a_restart_runs_the_same_prompt_as_a_new_charged_job(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    bot = await start_bot()
    result = await result_of(fake_discord, "a red fox", aspect="3:2")
    assert set(buttons(result)) == {"Reroll", "Edit", "Refine", "Delete"}
    await bot.stop()
    await start_bot()

    reroll = await fake_discord.invoke_component(buttons(result)["Reroll"], result, user=OTHER)
    await fake_discord.wait_for(lambda: is_result(reroll.original))
    assert reroll.original is not None
    assert not reroll.original.ephemeral
    assert fields_of(reroll.original.embeds[0])["Requested by"] == f"<@{OTHER.id}>"
    second = fake_openai.image_requests[1].json
    assert (second["prompt"], second["size"]) == ("a red fox", "1536x1024")
    assert len(fake_openai.moderation_requests) >= 3, "the reroll went through moderation again"


async def test_reroll_keeps_the_results_model_while_it_is_offered_and_explains_privately_otherwise(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    bot = await start_bot(IMAGE_MODELS="gpt-image-2.5-flare,gpt-image-2")
    on_default = await result_of(fake_discord, "a red fox", quality="max")  # no model chosen: the default made it
    chosen = await result_of(fake_discord, "a wide harbour", model="gpt-image-2", aspect="16:9")
    await bot.stop()
    await start_bot(IMAGE_MODELS="gpt-image-2,gpt-image-2.6-flare")  # the old default is no longer offered

    reroll = await fake_discord.invoke_component(buttons(chosen)["Reroll"], chosen, user=OTHER)
    await fake_discord.wait_for(lambda: is_result(reroll.original))
    assert (fake_openai.image_requests[-1].json["model"], fake_openai.image_requests[-1].json["size"]) == (
        "gpt-image-2",
        "1536x864",
    )
    # The other picture is asked of today's default, which has no "max" quality: said privately, and the public
    # "thinking…" of the acknowledgement is removed.
    again = await fake_discord.invoke_component(buttons(on_default)["Reroll"], on_default, user=OTHER)
    answer = await wait_for_private_answer(fake_discord, again)
    assert "gpt-image-2 supports quality low, medium, high" in answer
    assert again.original is not None
    assert again.original.deleted
    assert len(fake_openai.image_requests) == 3


async def test_edit_opens_a_prefilled_modal_and_runs_the_edited_prompt(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    result = await result_of(fake_discord, "a red fox")
    press = await fake_discord.invoke_component(buttons(result)["Edit"], result, user=MEMBER)
    await fake_discord.wait_for(lambda: press.modal is not None)
    assert press.modal is not None
    (row,) = press.modal["components"]
    (field,) = row["components"]
    assert field["value"] == "a red fox"
    submitted = await fake_discord.submit_modal(
        press.modal["custom_id"], {field["custom_id"]: "a blue fox"}, user=MEMBER
    )
    await fake_discord.wait_for(lambda: is_result(submitted.original))
    assert fake_openai.image_requests[-1].json["prompt"] == "a blue fox"


async def test_an_edit_is_moderated_like_any_prompt(running_bot: RunningBot, fake_discord: FakeDiscord) -> None:
    result = await result_of(fake_discord, "a red fox")
    press = await fake_discord.invoke_component(buttons(result)["Edit"], result, user=MEMBER)
    await fake_discord.wait_for(lambda: press.modal is not None)
    (row,) = press.modal["components"]  # type: ignore[index]
    (field,) = row["components"]
    submitted = await fake_discord.submit_modal(
        press.modal["custom_id"], {field["custom_id"]: "a nude fox"}, user=MEMBER
    )  # type: ignore[index]
    assert "doesn't allow" in await wait_for_private_answer(fake_discord, submitted)


async def test_only_the_requester_or_a_moderator_can_delete(running_bot: RunningBot, fake_discord: FakeDiscord) -> None:
    result = await result_of(fake_discord, "a red fox")
    stranger = await fake_discord.invoke_component(buttons(result)["Delete"], result, user=OTHER)
    assert "isn't yours" in await wait_for_private_answer(fake_discord, stranger)
    assert not result.deleted

    moderator = await fake_discord.invoke_component(
        buttons(result)["Delete"], result, user=OTHER, permissions=PLAIN | MANAGE_MESSAGES
    )
    await wait_for_ephemeral_reply(fake_discord, moderator)
    assert result.deleted


async def test_pick_sends_one_picture_of_a_set_privately(running_bot: RunningBot, fake_discord: FakeDiscord) -> None:
    result = await result_of(fake_discord, "three foxes", count=3)
    assert {"1", "2", "3"} <= set(buttons(result))
    press = await fake_discord.invoke_component(buttons(result)["2"], result, user=OTHER)
    reply = await wait_for_ephemeral_reply(fake_discord, press)
    (attachment,) = reply.attachments
    assert attachment.data == result.attachments[1].data
    assert decoded(attachment.data).size == (1024, 1024)


async def test_history_lists_my_pictures_with_links(running_bot: RunningBot, fake_discord: FakeDiscord) -> None:
    first = await result_of(fake_discord, "a red fox")
    await result_of(fake_discord, "a *blue* fox")
    record = await fake_discord.invoke_slash("history", {}, user=MEMBER)
    lines = (await wait_for_ephemeral_reply(fake_discord, record)).embeds[0]["description"].splitlines()
    assert len(lines) == 2
    assert "a \\*blue\\* fox" in lines[0], "newest first, escaped"
    assert lines[1].endswith(f"/{first.channel_id}/{first.id}")
    other = await fake_discord.invoke_slash("history", {}, user=OTHER)
    assert "haven't made any" in (await wait_for_ephemeral_reply(fake_discord, other)).embeds[0]["description"]


async def test_help_shows_the_members_quota_and_the_rules(running_bot: RunningBot, fake_discord: FakeDiscord) -> None:
    await result_of(fake_discord, "a red fox")
    record = await fake_discord.invoke_slash("help", {}, user=MEMBER)
    fields = fields_of((await wait_for_ephemeral_reply(fake_discord, record)).embeds[0])
    assert fields["Your quota today"].startswith("1 of 10 used")
    assert "checked before they are posted" in fields["This server's rules"]


async def test_replies_follow_the_members_language(running_bot: RunningBot, fake_discord: FakeDiscord) -> None:
    record = await fake_discord.invoke_slash("quota", {}, user=MEMBER, locale="zh-CN")
    card = fields_of((await wait_for_ephemeral_reply(fake_discord, record)).embeds[0])
    assert card["你今天"] == "已用 0 / 10 张，**还剩 10 张**"
    english = await fake_discord.invoke_slash("quota", {}, user=MEMBER, locale="en-GB")
    assert "You, today" in fields_of((await wait_for_ephemeral_reply(fake_discord, english)).embeds[0])


async def test_commands_are_registered_with_chinese_localisations(
    running_bot: RunningBot, fake_discord: FakeDiscord
) -> None:
    (_, payload), *_ = fake_discord.command_registrations
    imagine = next(c for c in payload if c["name"] == "imagine")
    assert imagine["name_localizations"] == {"zh-CN": "画图"}
    assert imagine["description_localizations"] == {"zh-CN": "把文字描述变成图片"}
    prompt = next(o for o in imagine["options"] if o["name"] == "prompt")
    assert prompt["name_localizations"] == {"zh-CN": "描述"}


async def test_a_chinese_refusal_is_chinese(running_bot: RunningBot, fake_discord: FakeDiscord) -> None:
    record = await fake_discord.invoke_slash("imagine", {"prompt": "nsfw"}, user=MEMBER, locale="zh-CN")
    answer = await wait_for_private_answer(fake_discord, record)
    assert answer.startswith("你的描述被拒绝了")
