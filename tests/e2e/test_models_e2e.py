"""End to end: the server's file format, transparent backgrounds, and models that retire, before and while the bot
runs."""

import logging
from datetime import timedelta
from pathlib import Path

import openai
import pytest

from bot.core.images.catalogue import DEFAULT_MODEL
from bot.providers.retirement import Retirement, RetirementWatch, utc_today
from storage.database import open_database
from storage.model_notices import ModelNoticesRepository
from tests.conftest import StartBot
from tests.fakes.discord_server import CHANNEL_ID, FakeDiscord
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import (
    MANAGE_GUILD,
    MEMBER,
    MODERATOR,
    PLAIN,
    decoded,
    fields_of,
    imagine,
    moderation,
    modlog_posts,
    quota_used,
    wait_for_ephemeral_reply,
    wait_for_private_answer,
    wait_for_result,
)

ADMIN = PLAIN | MANAGE_GUILD


async def image_settings(fake: FakeDiscord, subcommand: str, options: dict[str, object] | None = None) -> str:
    """An /image-settings subcommand as an admin; the private reply's text (content, or the embed's fields)."""
    record = await fake.invoke_slash(
        "image-settings", options or {}, subcommand=subcommand, user=MODERATOR, permissions=ADMIN
    )
    reply = await wait_for_ephemeral_reply(fake, record)
    return reply.content or "\n".join(f"{k}: {v}" for k, v in fields_of(reply.embeds[0]).items())


async def test_a_servers_format_goes_with_every_picture_and_is_audited(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot()
    assert "now come as webp, compression 70" in await image_settings(
        fake_discord, "format", {"format": "webp", "compression": 70}
    )
    record = await imagine(fake_discord, "a small lighthouse")
    await wait_for_result(fake_discord, record)
    sent = fake_openai.image_requests[0].json
    assert (sent["output_format"], sent["output_compression"]) == ("webp", 70)
    assert record.original is not None
    (attachment,) = record.original.attachments
    assert attachment.filename.endswith(".webp")
    assert decoded(attachment.data).format == "WEBP"

    shown = await image_settings(fake_discord, "show")
    assert f"{DEFAULT_MODEL} (default)" in shown
    assert "webp, compression 70" in shown
    changes = await fake_discord.invoke_slash(
        "quota-admin", {}, subcommand="changes", user=MODERATOR, permissions=ADMIN
    )
    audit = (await wait_for_ephemeral_reply(fake_discord, changes)).embeds[0]["description"]
    assert f"<@{MODERATOR.id}> set output format: png (default) → webp, compression 70" in audit


async def test_format_settings_are_for_admins_only(start_bot: StartBot, fake_discord: FakeDiscord) -> None:
    await start_bot()
    record = await fake_discord.invoke_slash("image-settings", {"format": "jpeg"}, subcommand="format", user=MEMBER)
    reply = await wait_for_ephemeral_reply(fake_discord, record)
    assert "Manage Server" in (reply.content or "")


async def test_a_transparent_background_arrives_with_its_transparency(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot()
    await image_settings(fake_discord, "format", {"format": "jpeg"})
    record = await imagine(fake_discord, "a sticker of a fox", background="transparent")
    await wait_for_result(fake_discord, record)
    sent = fake_openai.image_requests[0].json
    assert (sent["background"], sent["output_format"]) == ("transparent", "webp"), "JPEG cannot be transparent"
    assert record.original is not None
    picture = decoded(record.original.attachments[0].data)
    assert picture.mode == "RGBA"
    assert picture.getextrema()[3][0] == 0, "some pixels are fully transparent"


async def test_a_model_that_disappears_while_the_bot_runs_costs_nothing_and_tells_the_admin(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    await start_bot()
    del fake_openai.models[DEFAULT_MODEL]
    with caplog.at_level(logging.ERROR, logger="bot.providers.generator"):
        answer = await wait_for_private_answer(fake_discord, await imagine(fake_discord, "a lighthouse"))
    assert "isn't set up correctly" in answer
    assert await quota_used(fake_discord) == "0 of 10 used, **10 left**"
    assert f"no longer serves the image model {DEFAULT_MODEL!r}: set IMAGE_MODEL" in caplog.text


async def test_a_shutdown_ahead_is_logged_shown_to_admins_and_noticed_once_in_the_modlog(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    shutdown = utc_today() + timedelta(days=5)
    fake_openai.models[DEFAULT_MODEL] = shutdown.isoformat()
    with caplog.at_level(logging.WARNING, logger="bot.providers.retirement"):
        bot = await start_bot()
    assert f"shuts down the image model {DEFAULT_MODEL!r} (IMAGE_MODEL) on {shutdown}, in 5 day(s)" in caplog.text

    admin_help = await fake_discord.invoke_slash("help", {}, user=MODERATOR, permissions=ADMIN)
    fields = fields_of((await wait_for_ephemeral_reply(fake_discord, admin_help)).embeds[0])
    assert (
        f"**{DEFAULT_MODEL}** shuts down on {shutdown} (days left: 5)"
        in fields["Models shutting down (shown to admins)"]
    )
    member_help = await fake_discord.invoke_slash("help", {}, user=MEMBER)
    assert "Models shutting down (shown to admins)" not in fields_of(
        (await wait_for_ephemeral_reply(fake_discord, member_help)).embeds[0]
    )

    # The first check ran before the server had a mod-log: the next start posts the notice that is due.
    await moderation(fake_discord, "modlog", {"channel": CHANNEL_ID})
    await bot.stop()
    await start_bot()
    title = f"{DEFAULT_MODEL} is being retired"
    await fake_discord.wait_for(lambda: any(p.embeds[0]["title"] == title for p in modlog_posts(fake_discord)))
    (notice,) = [p for p in modlog_posts(fake_discord) if p.embeds[0]["title"] == title]
    assert f"on {shutdown} (days left: 5)" in notice.embeds[0]["description"]


async def test_each_notice_is_posted_once_and_a_failed_post_is_tried_again(tmp_path: Path) -> None:
    async with (
        open_database(tmp_path / "bot.db") as database,
        openai.AsyncOpenAI(api_key="unused", base_url="http://127.0.0.1:9/v1") as client,
    ):
        watch = RetirementWatch(client, (DEFAULT_MODEL,), ModelNoticesRepository(database), key="IMAGE_MODEL")
        retirement = Retirement(DEFAULT_MODEL, utc_today() + timedelta(days=6))
        assert retirement.notice_due(utc_today()) == 7
        assert await watch.claim_notice(1, retirement, 7)
        assert not await watch.claim_notice(1, retirement, 7), "a restart never posts it twice"
        assert await watch.claim_notice(2, retirement, 7), "each server gets its own"
        await watch.release_notice(1, retirement, 7)
        assert await watch.claim_notice(1, retirement, 7)


@pytest.mark.parametrize(("days_left", "due"), [(45, None), (30, 30), (8, 30), (7, 7), (2, 7), (1, 1), (0, None)])
def test_the_notice_due_is_the_most_urgent_one_reached(days_left: int, due: int | None) -> None:
    today = utc_today()
    assert Retirement("m", today + timedelta(days=days_left)).notice_due(today) == due


async def test_an_endpoint_without_a_model_list_gets_one_warning_and_the_bot_runs(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    fake_openai.serves_models = False
    with caplog.at_level(logging.WARNING, logger="bot.providers.retirement"):
        await start_bot()
    (warning,) = [r for r in caplog.records if r.name == "bot.providers.retirement"]
    assert "does not list its models" in warning.getMessage()
    await wait_for_result(fake_discord, await imagine(fake_discord, "a lighthouse"))


async def test_previews_come_and_are_checked_in_the_servers_format(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(PROGRESS_EDIT_INTERVAL="0")
    await image_settings(fake_discord, "format", {"format": "webp"})
    record = await imagine(fake_discord, "a lighthouse in a storm")
    await wait_for_result(fake_discord, record)
    assert fake_openai.image_requests[0].json["stream"] is True
    edits = [r for r in fake_discord.requests if r.method == "PATCH" and record.token in r.path and r.files]
    preview_urls = [
        r.json["embeds"][0]["image"]["url"] for r in edits if r.json["embeds"][0].get("title") != "Imagined"
    ]
    assert preview_urls == ["attachment://preview.webp"]
    checked = [
        part["image_url"]["url"] for r in fake_openai.image_checks for part in r.json["input"] if "image_url" in part
    ]
    assert len(checked) == 2
    assert all(url.startswith("data:image/webp;base64,") for url in checked), "the preview and the picture"
