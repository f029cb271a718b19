"""End to end: a refused member appeals; a moderator approves (even after a restart) or denies."""

from tests.conftest import RunningBot, StartBot
from tests.fakes.discord_server import CHANNEL_ID, GUILD_ID, FakeDiscord, FakeMessage
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers import (
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
)


async def refused_with_appeal(fake: FakeDiscord, prompt: str = "a dragon") -> FakeMessage:
    """A refusal's private answer (the guild blocks "dragon"), carrying the Appeal button."""
    record = await imagine(fake, prompt)
    await wait_for_private_answer(fake, record)
    return record.followups[0]


async def press(fake: FakeDiscord, message: FakeMessage, custom_id: str, **who: object) -> str:
    """Press a button and return the private answer (a filled-in placeholder, or an error's followup)."""
    record = await fake.invoke_component(custom_id, message, **who)  # type: ignore[arg-type]

    def answered() -> bool:
        original = record.original
        return bool(record.followups) or (original is not None and not original.loading and not original.deleted)

    await fake.wait_for(answered)
    reply = record.followups[0] if record.followups else record.original
    assert reply is not None
    assert reply.ephemeral
    return reply.content or ""


async def setup_guild(fake: FakeDiscord) -> None:
    await moderation(fake, "modlog", {"channel": CHANNEL_ID})
    await moderation(fake, "blocklist add", {"entry": "dragon"})


def decision_buttons(post: FakeMessage) -> dict[str, str]:
    (row,) = post.components
    return {button["label"]: button["custom_id"] for button in row["components"]}


async def test_an_appeal_approved_after_a_restart_runs_the_job_and_tells_the_member(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    bot = await start_bot()
    await setup_guild(fake_discord)
    answer = await refused_with_appeal(fake_discord)
    assert "sent to the moderators" in await press(fake_discord, answer, appeal_button(answer), user=MEMBER)
    (appeal_post,) = [p for p in modlog_posts(fake_discord) if p.embeds[0]["title"] == "Appeal"]
    assert fields_of(appeal_post.embeds[0])["Member"] == f"<@{MEMBER.id}>"

    await bot.stop()
    await start_bot()  # the buttons must survive a restart: everything is looked up from their ids

    approve = decision_buttons(appeal_post)["Approve"]
    decided = await press(fake_discord, appeal_post, approve, user=MODERATOR, permissions=PLAIN | MANAGE_GUILD)
    assert "the member has been told" in decided

    (picture,) = [m for m in fake_discord.channel_messages[CHANNEL_ID] if m.attachments and m.interaction_id is None]
    assert picture.embeds[0]["footer"]["text"] == "Posted after a moderator approved an appeal."
    assert fields_of(picture.embeds[0])["Requested by"] == f"<@{MEMBER.id}>"
    assert fake_openai.image_requests[0].json["prompt"] == "a dragon"
    (dm,) = fake_discord.direct_messages[MEMBER.id]
    assert "approved your appeal" in (dm.content or "")
    assert (dm.content or "").endswith(f"/channels/{GUILD_ID}/{picture.channel_id}/{picture.id}")
    assert appeal_post.components == [], "decided: the buttons are gone"
    assert "Approved by" in str(appeal_post.embeds[0]["fields"])
    assert await quota_used(fake_discord) == "1 of 10 used, **9 left**", "charged as usual"


async def test_a_denied_appeal_is_told_privately(running_bot: RunningBot, fake_discord: FakeDiscord) -> None:
    await setup_guild(fake_discord)
    answer = await refused_with_appeal(fake_discord)
    await press(fake_discord, answer, appeal_button(answer), user=MEMBER)
    (appeal_post,) = [p for p in modlog_posts(fake_discord) if p.embeds[0]["title"] == "Appeal"]
    deny = decision_buttons(appeal_post)["Deny"]
    await press(fake_discord, appeal_post, deny, user=MODERATOR, permissions=PLAIN | MANAGE_GUILD)
    (dm,) = fake_discord.direct_messages[MEMBER.id]
    assert "kept the refusal" in (dm.content or "")
    assert not [m for m in fake_discord.channel_messages[CHANNEL_ID] if m.attachments]


async def test_only_moderators_decide_and_only_the_member_appeals(
    running_bot: RunningBot, fake_discord: FakeDiscord
) -> None:
    await setup_guild(fake_discord)
    answer = await refused_with_appeal(fake_discord)
    stranger = await press(fake_discord, answer, appeal_button(answer), user=MODERATOR)
    assert "Only the member whose prompt was refused" in stranger

    await press(fake_discord, answer, appeal_button(answer), user=MEMBER)
    assert "already appealed" in await press(fake_discord, answer, appeal_button(answer), user=MEMBER)

    (appeal_post,) = [p for p in modlog_posts(fake_discord) if p.embeds[0]["title"] == "Appeal"]
    record = await fake_discord.invoke_component(decision_buttons(appeal_post)["Approve"], appeal_post, user=MEMBER)
    await fake_discord.wait_for(lambda: bool(record.callbacks))
    data = record.callbacks[0].data
    assert data is not None
    assert "Manage Server" in data["content"]
    assert appeal_post.components, "still undecided"


async def test_appeals_are_limited_per_member_per_day(running_bot: RunningBot, fake_discord: FakeDiscord) -> None:
    await setup_guild(fake_discord)
    await moderation(fake_discord, "strikes policy", {"refusals": 50, "within_hours": 24, "suspend_hours": 1})
    for n in range(3):
        answer = await refused_with_appeal(fake_discord, f"dragon number {n}")
        assert "sent to the moderators" in await press(fake_discord, answer, appeal_button(answer), user=MEMBER)
    answer = await refused_with_appeal(fake_discord, "one dragon too many")
    assert "used all your appeals for today" in await press(fake_discord, answer, appeal_button(answer), user=MEMBER)


async def test_without_a_mod_log_appeals_are_unavailable(running_bot: RunningBot, fake_discord: FakeDiscord) -> None:
    await moderation(fake_discord, "blocklist add", {"entry": "dragon"})
    answer = await refused_with_appeal(fake_discord)
    assert "no moderation log yet" in await press(fake_discord, answer, appeal_button(answer), user=MEMBER)


async def test_an_appeal_that_cannot_reach_the_mod_log_is_withdrawn_so_it_can_be_retried(
    running_bot: RunningBot, fake_discord: FakeDiscord
) -> None:
    await setup_guild(fake_discord)
    answer = await refused_with_appeal(fake_discord)
    fake_discord.forbidden_channels.add(CHANNEL_ID)
    assert "can't be reached right now" in await press(fake_discord, answer, appeal_button(answer), user=MEMBER)
    fake_discord.forbidden_channels.clear()
    assert "sent to the moderators" in await press(fake_discord, answer, appeal_button(answer), user=MEMBER)


async def test_an_approval_whose_picture_cannot_be_posted_tells_the_member_why(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await setup_guild(fake_discord)
    answer = await refused_with_appeal(fake_discord)
    await press(fake_discord, answer, appeal_button(answer), user=MEMBER)
    (appeal_post,) = [p for p in modlog_posts(fake_discord) if p.embeds[0]["title"] == "Appeal"]
    fake_discord.forbidden_channels.add(CHANNEL_ID)  # the result goes to the member's channel: now closed to the bot
    decided = await press(
        fake_discord,
        appeal_post,
        decision_buttons(appeal_post)["Approve"],
        user=MODERATOR,
        permissions=PLAIN | MANAGE_GUILD,
    )
    assert "the member has been told" in decided
    (dm,) = fake_discord.direct_messages[MEMBER.id]
    assert "no picture could be made" in (dm.content or "")
    assert "could not be posted" in (dm.content or "")
    assert len(fake_openai.image_requests) == 1
    assert await quota_used(fake_discord) == "0 of 10 used, **10 left**", "nothing delivered, nothing charged"


async def test_an_approved_appeal_clears_its_strike(running_bot: RunningBot, fake_discord: FakeDiscord) -> None:
    await setup_guild(fake_discord)
    answer = await refused_with_appeal(fake_discord)
    await press(fake_discord, answer, appeal_button(answer), user=MEMBER)
    (appeal_post,) = [p for p in modlog_posts(fake_discord) if p.embeds[0]["title"] == "Appeal"]
    await press(
        fake_discord,
        appeal_post,
        decision_buttons(appeal_post)["Approve"],
        user=MODERATOR,
        permissions=PLAIN | MANAGE_GUILD,
    )
    assert (await moderation(fake_discord, "strikes list")).embeds[0]["description"] == "none"
