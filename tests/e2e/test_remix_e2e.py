"""End to end: remixes from /imagine's pictures, the Remix message command and the Refine button, every input
checked, through the real bot against the fakes' edits endpoint and message commands."""

import io

import pytest
from PIL import Image

from tests.conftest import RunningBot, StartBot
from tests.fakes.discord_server import CHANNEL_ID, GUILD_ID, FakeDiscord, FakeMessage, FakeUser, InteractionRecord
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import (
    EPHEMERAL,
    MANAGE_GUILD,
    MEMBER,
    MODERATOR,
    PLAIN,
    appeal_button,
    buttons,
    decoded,
    fields_of,
    imagine,
    moderation,
    modlog_posts,
    quota_used,
    wait_for_private_answer,
    wait_for_result,
)

RED, BLUE = (220, 20, 20), (20, 40, 220)
AUTHOR = FakeUser(id=345678901234567890, name="photographer")
NOTHING_CHARGED = "0 of 10 used, **10 left**"


def picture(colour: tuple[int, int, int], size: tuple[int, int] = (256, 256), image_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=image_format)
    return buffer.getvalue()


def corner(data: bytes) -> tuple[int, ...]:
    """The top-left pixel, which the fake paints in the first input's colour."""
    pixel = decoded(data).convert("RGB").getpixel((0, 0))
    assert isinstance(pixel, tuple)
    return pixel


async def remix_command(fake_discord: FakeDiscord, source: FakeMessage, prompt: str) -> InteractionRecord:
    """Apps → Remix on ``source``, and the modal submitted with ``prompt``; returns the submission."""
    record = await fake_discord.invoke_message_command("Remix", source, user=MEMBER)
    await fake_discord.wait_for(lambda: record.modal is not None)
    assert record.modal is not None
    (label,) = [c for c in record.modal["components"] if c["type"] == 18]
    return await fake_discord.submit_modal(
        record.modal["custom_id"], {label["component"]["custom_id"]: prompt}, user=MEMBER
    )


async def remix_with_imagine(fake_discord: FakeDiscord, prompt: str, *pictures: bytes) -> FakeMessage:
    names = ("image", "image2", "image3")
    options = {
        name: fake_discord.upload(f"in{n}.png", data)
        for n, (name, data) in enumerate(zip(names, pictures, strict=False))
    }
    record = await imagine(fake_discord, prompt, **options)
    await wait_for_result(fake_discord, record)
    assert record.original is not None
    return record.original


async def test_imagine_with_pictures_edits_them_and_says_it_is_a_remix(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    result = await remix_with_imagine(fake_discord, "make it a watercolour", picture(RED), picture(BLUE))
    assert fake_openai.image_requests == [], "an edit, not a generation"
    (edit,) = fake_openai.edit_requests
    assert [corner(image.data) for image in edit.images] == [RED, BLUE]
    assert edit.fields["prompt"] == "make it a watercolour"
    assert "moderation" not in edit.fields, "edits take no provider moderation level"
    assert corner(result.attachments[0].data) == RED, "made from the first picture"
    assert (result.embeds[0]["title"], fields_of(result.embeds[0])["Remix of"]) == (
        "Remixed",
        "the 2 pictures given with the prompt",
    )
    checked = [r for r in fake_openai.moderation_requests if r.json["input"] != "make it a watercolour"]
    assert len(checked) == 2 + 1, "both pictures checked before the edit, and the result after it"
    assert await quota_used(fake_discord) == "1 of 10 used, **9 left**", "a remix counts like any job"
    history = await fake_discord.invoke_slash("history", {}, user=MEMBER)
    await fake_discord.wait_for(lambda: history.original is not None and not history.original.loading)
    assert history.original is not None
    assert "🪄 remix · make it a watercolour" in history.original.embeds[0]["description"]


async def test_the_remix_command_uses_a_members_picture_and_links_back(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    source = fake_discord.post_member_message(
        "my cat", author=AUTHOR, attachments=[fake_discord.upload("cat.jpg", picture(BLUE, image_format="JPEG"))]
    )
    record = await fake_discord.invoke_message_command("Remix", source, user=MEMBER)
    await fake_discord.wait_for(lambda: record.modal is not None)
    assert record.modal is not None
    shown = [c for c in record.modal["components"] if c["type"] == 10]
    assert "cat.jpg" in shown[0]["content"], "the modal names the picture it will use"
    (label,) = [c for c in record.modal["components"] if c["type"] == 18]
    submitted = await fake_discord.submit_modal(
        record.modal["custom_id"], {label["component"]["custom_id"]: "put a hat on my cat"}, user=MEMBER
    )
    await wait_for_result(fake_discord, submitted)
    assert submitted.original is not None
    (edit,) = fake_openai.edit_requests
    assert corner(edit.images[0].data) == pytest.approx(BLUE, abs=8)
    link = f"https://discord.com/channels/{GUILD_ID}/{source.channel_id}/{source.id}"
    assert fields_of(submitted.original.embeds[0])["Remix of"] == link


async def test_the_remix_command_takes_an_embeds_picture_through_discords_proxy(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    fake_discord.host_external("https://example.com/sunset.png", picture(RED))
    source = fake_discord.post_member_message(
        author=AUTHOR, embeds=[{"image": {"url": "https://example.com/sunset.png"}}]
    )
    submitted = await remix_command(fake_discord, source, "at night")
    await wait_for_result(fake_discord, submitted)
    assert corner(fake_openai.edit_requests[0].images[0].data) == RED


async def test_refine_edits_that_very_result_turn_by_turn(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    record = await imagine(fake_discord, "a lighthouse")
    await wait_for_result(fake_discord, record)
    first = record.original
    assert first is not None
    for turn, change in enumerate(("make the sky red", "add a boat"), 1):
        press = await fake_discord.invoke_component(buttons(first)["Refine"], first, user=MEMBER)
        await fake_discord.wait_for(lambda p=press: p.modal is not None)
        assert press.modal is not None
        (row,) = press.modal["components"]
        (field,) = row["components"]
        refined = await fake_discord.submit_modal(press.modal["custom_id"], {field["custom_id"]: change}, user=MEMBER)
        await wait_for_result(fake_discord, refined)
        edit = fake_openai.edit_requests[-1]
        assert edit.images[0].data == first.attachments[0].data, "the result itself is what is edited"
        assert edit.fields["prompt"] == change
        assert refined.original is not None
        assert fields_of(refined.original.embeds[0])["Remix of"].endswith(f"/{first.id}")
        assert len(fake_openai.edit_requests) == turn
        first = refined.original


async def test_reroll_of_a_remix_remixes_the_same_pictures_after_a_restart(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    bot = await start_bot()
    result = await remix_with_imagine(fake_discord, "as a mosaic", picture(RED))
    await bot.stop()
    await start_bot()
    again = await fake_discord.invoke_component(buttons(result)["Reroll"], result, user=MEMBER)
    await wait_for_result(fake_discord, again)
    first, second = fake_openai.edit_requests
    assert second.images[0].data == first.images[0].data
    assert second.fields["prompt"] == "as a mosaic"
    press = await fake_discord.invoke_component(buttons(result)["Refine"], result, user=MEMBER)
    await fake_discord.wait_for(lambda: press.modal is not None)  # Refine works after the restart too


@pytest.mark.parametrize(
    ("upload", "expected"),
    [
        (("notes.txt", b"just text", "text/plain"), "must be a PNG, JPEG or WebP"),
        (("fake.png", b"GIF89a not really a png", "image/png"), "can't be read as a picture"),
        (("anim.gif", picture(RED, image_format="GIF"), "image/gif"), "must be a PNG, JPEG or WebP"),
        (("huge.png", b"", "image/png"), "too many pixels"),
    ],
    ids=["not a picture", "not what it says", "gif", "decompression bomb"],
)
async def test_a_bad_picture_is_answered_privately_and_nothing_is_charged(
    running_bot: RunningBot,
    fake_discord: FakeDiscord,
    fake_openai: FakeOpenAI,
    upload: tuple[str, bytes, str],
    expected: str,
) -> None:
    name, data, content_type = upload
    if name == "huge.png":
        buffer = io.BytesIO()
        Image.new("1", (8_000, 8_000)).save(buffer, format="PNG")
        data = buffer.getvalue()
    record = await imagine(fake_discord, "a remix", image=fake_discord.upload(name, data, content_type))
    if content_type.startswith("image/"):  # found out once fetched: the public placeholder makes way for the answer
        answer = await wait_for_private_answer(fake_discord, record)
    else:  # Discord said it is no picture: answered at once, privately, nothing public shown
        await fake_discord.wait_for(lambda: bool(record.callbacks))
        answer = (record.callbacks[0].data or {}).get("content", "")
        assert (record.callbacks[0].data or {}).get("flags", 0) & EPHEMERAL
    assert expected in answer
    assert fake_openai.edit_requests == []
    assert await quota_used(fake_discord) == NOTHING_CHARGED


async def test_a_picture_discord_cannot_fetch_is_said_to_be_unreachable(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    source = fake_discord.post_member_message(author=AUTHOR, embeds=[{"image": {"url": "https://gone.example/x.png"}}])
    submitted = await remix_command(fake_discord, source, "brighter")
    assert "couldn't be fetched from Discord" in await wait_for_private_answer(fake_discord, submitted)
    assert fake_openai.edit_requests == []


async def test_a_message_without_a_picture_is_said_so(running_bot: RunningBot, fake_discord: FakeDiscord) -> None:
    source = fake_discord.post_member_message("only words", author=AUTHOR)
    record = await fake_discord.invoke_message_command("Remix", source, user=MEMBER)
    await fake_discord.wait_for(lambda: bool(record.callbacks))
    assert record.modal is None
    assert "no picture to remix" in (record.callbacks[0].data or {}).get("content", "")


async def test_a_flagged_picture_is_refused_as_a_strike_and_shown_to_moderators_behind_a_spoiler(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await moderation(fake_discord, "modlog", {"channel": CHANNEL_ID})
    fake_openai.flag_image_colour(RED, "sexual", 0.97)
    clean, flagged = fake_discord.upload("a.png", picture(BLUE)), fake_discord.upload("b.png", picture(RED))
    record = await imagine(fake_discord, "a portrait", image=clean, image2=flagged)
    answer = await wait_for_private_answer(fake_discord, record)
    assert "Picture 2 was refused: it was flagged for sexual" in answer
    assert appeal_button(record.followups[0]).startswith("appeal:")
    (post,) = [p for p in modlog_posts(fake_discord) if p.attachments]
    (attachment,) = post.attachments
    assert attachment.filename.startswith("SPOILER_")
    assert corner(attachment.data) == RED, "the refused picture, for the moderators"
    assert fields_of(post.embeds[0])["Findings"].startswith("picture: 2")
    strikes = await moderation(fake_discord, "strikes list")
    assert strikes.embeds[0]["description"] != "none", "a refused picture is the member's strike"
    assert fake_openai.edit_requests == []
    assert await quota_used(fake_discord) == NOTHING_CHARGED


async def test_an_endpoint_without_edits_is_told_privately_and_nothing_is_charged(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    fake_openai.serves_edits = False
    record = await imagine(fake_discord, "a remix", image=fake_discord.upload("a.png", picture(RED)))
    assert "can't edit pictures" in await wait_for_private_answer(fake_discord, record)
    assert len(fake_openai.edit_requests) == 1
    assert await quota_used(fake_discord) == NOTHING_CHARGED


async def test_a_model_that_cannot_edit_offers_no_remix_and_refine_says_so(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(IMAGE_MODEL="gpt-image-2.6-flare")
    ((_, payload),) = fake_discord.command_registrations
    assert "Remix" not in {c["name"] for c in payload}
    (command,) = [c for c in payload if c["name"] == "imagine"]
    assert "image" not in {o["name"] for o in command["options"]}
    record = await imagine(fake_discord, "a lighthouse")
    await wait_for_result(fake_discord, record)
    assert record.original is not None
    press = await fake_discord.invoke_component(buttons(record.original)["Refine"], record.original, user=MEMBER)
    await fake_discord.wait_for(lambda: press.modal is not None)
    assert press.modal is not None
    (row,) = press.modal["components"]
    (field,) = row["components"]
    refined = await fake_discord.submit_modal(press.modal["custom_id"], {field["custom_id"]: "red sky"}, user=MEMBER)
    assert "can't edit pictures" in await wait_for_private_answer(fake_discord, refined)
    assert fake_openai.edit_requests == []
    assert await quota_used(fake_discord) == "1 of 10 used, **9 left**", "only the first picture counted"


async def test_an_approved_appeal_of_a_refused_picture_remixes_that_very_picture(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await moderation(fake_discord, "modlog", {"channel": CHANNEL_ID})
    fake_openai.flag_image_colour(RED, "violence", 0.97)
    record = await imagine(fake_discord, "a red square", image=fake_discord.upload("red.png", picture(RED)))
    await wait_for_private_answer(fake_discord, record)
    answer = record.followups[0]
    await fake_discord.invoke_component(appeal_button(answer), answer, user=MEMBER)
    await fake_discord.wait_for(lambda: any(p.embeds[0]["title"] == "Appeal" for p in modlog_posts(fake_discord)))
    (appeal_post,) = [p for p in modlog_posts(fake_discord) if p.embeds[0]["title"] == "Appeal"]
    await fake_discord.invoke_component(
        buttons(appeal_post)["Approve"], appeal_post, user=MODERATOR, permissions=PLAIN | MANAGE_GUILD
    )
    await fake_discord.wait_for(lambda: bool(fake_openai.edit_requests))
    (edit,) = fake_openai.edit_requests
    assert corner(edit.images[0].data) == RED, "the picture the member gave, kept since the refusal"
    await fake_discord.wait_for(
        lambda: any(m.attachments and m.interaction_id is None for m in fake_discord.channel_messages[CHANNEL_ID])
    )
