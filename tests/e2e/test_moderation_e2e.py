"""End to end: moderation as members, moderators and the mod-log see it."""

import sqlite3

import pytest

from tests.conftest import RunningBot, StartBot
from tests.fakes.discord_server import CHANNEL_ID, FakeDiscord
from tests.fakes.openai_server import Failure, FakeOpenAI
from tests.helpers import (
    AGE_RESTRICTED_GUILD,
    EPHEMERAL,
    MANAGE_GUILD,
    MEMBER,
    MODERATOR,
    PLAIN,
    appeal_button,
    fields_of,
    imagine,
    moderation,
    modlog_posts,
    quota_used,
    wait_for_private_answer,
    wait_for_result,
)


async def test_a_blocklisted_prompt_is_refused_privately_before_anything_is_called(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    record = await imagine(fake_discord, "a n.s.f.w picture")  # the default list has "nsfw"
    answer = await wait_for_private_answer(fake_discord, record)
    assert "something this server doesn't allow" in answer
    assert "Nothing was charged" in answer
    assert "nsfw" not in answer.lower(), "the prompt and the matched word are never echoed"
    assert appeal_button(record.followups[0]).startswith("appeal:")
    assert record.original is not None
    assert record.original.deleted
    assert fake_openai.image_requests == []
    assert fake_openai.moderation_requests == [], "the blocklist answers before the endpoint is asked"
    assert await quota_used(fake_discord) == "0 of 10 used, **10 left**"


async def test_the_endpoint_refusal_names_the_category(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    fake_openai.flag("knife", "violence")
    answer = await wait_for_private_answer(fake_discord, await imagine(fake_discord, "a Knife fight"))
    assert "flagged for violence" in answer
    assert fake_openai.image_requests == []
    assert fake_openai.moderation_requests[0].json["input"] == "a Knife fight", "the original prompt is checked"


async def test_thresholds_read_higher_is_more_lenient(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    fake_openai.flag("storm", "violence", 0.6, flagged=False)
    await wait_for_result(fake_discord, await imagine(fake_discord, "a storm at sea"))

    reply = await moderation(fake_discord, "thresholds set", {"category": "violence", "block_at": "0.5"})
    assert "blocks at a score of 0.50 or more (higher = more lenient)" in (reply.content or "")
    answer = await wait_for_private_answer(fake_discord, await imagine(fake_discord, "a storm at night"))
    assert "flagged for violence" in answer

    await moderation(fake_discord, "thresholds set", {"category": "violence", "block_at": "0.9"})
    await wait_for_result(fake_discord, await imagine(fake_discord, "a storm at dawn"))
    shown = await moderation(fake_discord, "thresholds show")
    assert "**violence**: blocks at 0.90 or more (this server's setting)" in shown.embeds[0]["fields"][0]["value"]


async def test_age_restricted_channels_use_the_endpoints_own_flag(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    fake_discord.add_guild(AGE_RESTRICTED_GUILD, name="Adults").age_restricted = True
    await start_bot()
    fake_openai.flag("beach", "sexual", 0.3, flagged=False)
    refused = await imagine(fake_discord, "a beach party")
    assert "flagged for sexual" in await wait_for_private_answer(fake_discord, refused)
    allowed = await fake_discord.invoke_slash(
        "imagine", {"prompt": "a beach party"}, user=MEMBER, guild_id=AGE_RESTRICTED_GUILD
    )
    await wait_for_result(fake_discord, allowed)


@pytest.mark.parametrize(("fail_closed", "generated"), [("true", False), ("false", True)])
async def test_an_endpoint_outage_fails_closed_unless_configured_open(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI, fail_closed: str, generated: bool
) -> None:
    await start_bot(MODERATION_FAIL_CLOSED=fail_closed)
    fake_openai.fail_next_moderation(Failure.server_error(), times=2)  # the prompt check, then the output check
    record = await imagine(fake_discord, "a quiet lake")
    if generated:
        await wait_for_result(fake_discord, record)
    else:
        assert "Moderation is unavailable right now" in await wait_for_private_answer(fake_discord, record)
        assert fake_openai.image_requests == []
        strikes = await moderation(fake_discord, "strikes list")
        assert strikes.embeds[0]["description"] == "none", "an outage is not the member's fault"


async def test_the_providers_refusal_counts_as_a_strike_without_an_appeal(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    fake_openai.fail_next(Failure.moderation_blocked())
    record = await imagine(fake_discord, "something only the provider refuses")
    assert "image provider refused" in await wait_for_private_answer(fake_discord, record)
    assert record.followups[0].components == []
    strikes = await moderation(fake_discord, "strikes list")
    assert "image provider" in strikes.embeds[0]["description"]
    assert await quota_used(fake_discord) == "0 of 10 used, **10 left**"


async def test_a_flagged_picture_is_withheld_and_shown_to_moderators_behind_a_spoiler(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await moderation(fake_discord, "modlog", {"channel": CHANNEL_ID})
    fake_openai.flag_images("sexual")
    record = await imagine(fake_discord, "an innocent prompt")
    assert "wasn't posted" in await wait_for_private_answer(fake_discord, record)
    assert record.followups[0].components == [], "the provider made it: an appeal would change nothing"
    (post,) = [p for p in modlog_posts(fake_discord) if p.attachments]
    (attachment,) = post.attachments
    assert attachment.filename.startswith("SPOILER_")
    assert post.embeds[0]["title"] == "Picture withheld"
    assert await quota_used(fake_discord) == "0 of 10 used, **10 left**"

    strikes = await moderation(fake_discord, "strikes list")
    assert strikes.embeds[0]["description"] == "none", "a withheld picture is not the member's strike"

    await moderation(fake_discord, "output-check", {"enabled": False})
    await wait_for_result(fake_discord, await imagine(fake_discord, "an innocent prompt again"))


async def test_every_picture_of_a_set_is_checked_and_one_flag_withholds_the_set(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    fake_openai.flag_images("violence")
    record = await imagine(fake_discord, "three pictures", count=3)
    assert "wasn't posted" in await wait_for_private_answer(fake_discord, record)
    assert len(fake_openai.image_checks) == 3
    for check in fake_openai.image_checks:
        (part,) = check.json["input"]
        assert part["image_url"]["url"].startswith("data:image/png;base64,"), "the picture itself"


async def test_refusals_are_logged_for_moderators_with_the_prompt_behind_a_spoiler(
    running_bot: RunningBot, fake_discord: FakeDiscord
) -> None:
    reply = await moderation(fake_discord, "modlog", {"channel": CHANNEL_ID})
    assert f"<#{CHANNEL_ID}>" in (reply.content or "")
    await wait_for_private_answer(fake_discord, await imagine(fake_discord, "@everyone look: **porn**"))
    (post,) = [p for p in modlog_posts(fake_discord)]
    fields = fields_of(post.embeds[0])
    assert fields["Member"] == f"<@{MEMBER.id}>"
    assert fields["Layer"] == "server blocklist"
    assert fields["Findings"] == "blocklist: porn"
    prompt = fields["Prompt"]
    assert prompt.startswith("||")
    assert prompt.endswith("||")
    assert "@everyone" not in prompt
    assert "**porn**" not in prompt
    assert post.allowed_mentions == {"parse": []}


async def test_strikes_suspend_a_member_until_a_moderator_lifts_it(
    running_bot: RunningBot, fake_discord: FakeDiscord
) -> None:
    await moderation(fake_discord, "strikes policy", {"refusals": 2, "within_hours": 24, "suspend_hours": 1})
    first = await wait_for_private_answer(fake_discord, await imagine(fake_discord, "porn"))
    assert "appeal" in first
    second = await wait_for_private_answer(fake_discord, await imagine(fake_discord, "more porn"))
    assert "can't use /imagine until" in second
    blocked = await wait_for_private_answer(fake_discord, await imagine(fake_discord, "a kitten"))
    assert "You can't use /imagine in this server until" in blocked

    pardoned = await moderation(fake_discord, "strikes pardon", {"member": MEMBER})
    assert "Pardoned 2 strike(s)" in (pardoned.content or "")
    assert "can use /imagine again" in ((await moderation(fake_discord, "unsuspend", {"member": MEMBER})).content or "")
    await wait_for_result(fake_discord, await imagine(fake_discord, "a kitten"))

    suspended = await moderation(fake_discord, "suspend", {"member": MEMBER, "hours": 2})
    assert "can't use /imagine until" in (suspended.content or "")
    assert "until" in await wait_for_private_answer(fake_discord, await imagine(fake_discord, "another kitten"))


async def test_a_broken_mod_log_is_reported_to_an_admin_once_and_never_fails_a_request(
    start_bot: StartBot, fake_discord: FakeDiscord
) -> None:
    bot = await start_bot()
    await moderation(fake_discord, "modlog", {"channel": CHANNEL_ID})
    await bot.stop()
    # The channel is deleted while the bot is away: the setting now names a channel that does not exist.
    with sqlite3.connect(bot.settings.database_path) as raw:
        raw.execute("UPDATE moderation_settings SET modlog_channel_id = 42")
    await start_bot()
    for prompt in ("porn", "porno"):
        assert "doesn't allow" in await wait_for_private_answer(fake_discord, await imagine(fake_discord, prompt))
    first = await moderation(fake_discord, "thresholds show")
    assert (first.content or "").startswith("⚠️ The moderation log can't be used: the mod-log channel no longer exists")
    second = await moderation(fake_discord, "thresholds show")
    assert not second.content


async def test_a_mod_log_the_bot_may_not_post_in_is_reported_and_never_fails_a_request(
    running_bot: RunningBot, fake_discord: FakeDiscord
) -> None:
    await moderation(fake_discord, "modlog", {"channel": CHANNEL_ID})
    fake_discord.forbidden_channels.add(CHANNEL_ID)  # someone took the bot's permission away
    assert "doesn't allow" in await wait_for_private_answer(fake_discord, await imagine(fake_discord, "porn"))
    warned = await moderation(fake_discord, "strikes list")
    assert "the bot may not post in #general" in (warned.content or "")

    fake_discord.forbidden_channels.clear()
    refused = await moderation(fake_discord, "modlog", {"channel": CHANNEL_ID})
    assert "now go to" in (refused.content or "")


async def test_choosing_a_mod_log_the_bot_cannot_post_in_is_refused_at_once(
    running_bot: RunningBot, fake_discord: FakeDiscord
) -> None:
    fake_discord.forbidden_channels.add(CHANNEL_ID)
    reply = await moderation(fake_discord, "modlog", {"channel": CHANNEL_ID})
    assert "can't post in" in (reply.content or "")


async def test_the_dry_run_shows_every_layer_and_records_nothing(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    fake_openai.flag("knife", "violence")
    reply = await moderation(fake_discord, "test", {"prompt": "a n u d e knife"})
    fields = fields_of(reply.embeds[0])
    assert fields["1. Blocklist"] == "⛔ matches `nude`"
    assert "⛔ **violence** 0.970" in fields["2. Moderation endpoint (top scores)"]
    assert fields["Verdict"] == "⛔ refused"
    assert "`a nude knife`" in fields["Normalised forms checked against the blocklist"]
    assert (await moderation(fake_discord, "strikes list")).embeds[0]["description"] == "none"
    assert fake_openai.image_requests == []


async def test_moderators_manage_the_blocklist(running_bot: RunningBot, fake_discord: FakeDiscord) -> None:
    added = await moderation(fake_discord, "blocklist add", {"entry": "Dragon"})
    assert "Added `Dragon`" in (added.content or ""), "kept as the moderator wrote it"
    assert "doesn't allow" in await wait_for_private_answer(fake_discord, await imagine(fake_discord, "a DR4GON"))
    await wait_for_result(fake_discord, await imagine(fake_discord, "a dragonfly"))

    bad = await fake_discord.invoke_slash(
        "moderation",
        {"entry": "(a|aa)+$", "regex": True},
        subcommand="blocklist add",
        user=MODERATOR,
        permissions=PLAIN | MANAGE_GUILD,
    )
    await fake_discord.wait_for(lambda: bool(bad.followups) or (bad.original is not None and not bad.original.loading))
    listed = await moderation(fake_discord, "blocklist list")
    assert "`Dragon`" in listed.embeds[0]["fields"][0]["value"]
    assert "(a|aa)" not in listed.embeds[0]["fields"][0]["value"]

    cleared = await moderation(fake_discord, "blocklist clear")
    assert "Removed 1" in (cleared.content or "")
    await wait_for_result(fake_discord, await imagine(fake_discord, "a dragon and nsfw"))


async def test_members_without_manage_server_cannot_moderate(
    running_bot: RunningBot, fake_discord: FakeDiscord
) -> None:
    record = await fake_discord.invoke_slash("moderation", {"prompt": "x"}, subcommand="test", user=MEMBER)
    await fake_discord.wait_for(lambda: bool(record.callbacks))
    data = record.callbacks[0].data
    assert data is not None
    assert data["flags"] & EPHEMERAL
    assert "Manage Server" in data["content"]
