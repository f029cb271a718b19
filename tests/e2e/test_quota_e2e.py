"""End to end: quotas as members and admins meet them through Discord."""

import asyncio
import re

from tests.conftest import RunningBot, StartBot
from tests.fakes.discord_server import FakeDiscord, FakeUser, InteractionRecord
from tests.fakes.openai_server import Failure, FakeOpenAI
from tests.helpers import (
    EPHEMERAL,
    MEMBER,
    fields_of,
    imagine,
    is_result,
    quota_card,
    wait_for_ephemeral_reply,
    wait_for_private_answer,
    wait_for_result,
)

OTHER = FakeUser(id=456789012345678901, name="other_member")
ADMIN = FakeUser(id=567890123456789012, name="server_admin")
MANAGE_GUILD = 1 << 5
PLAIN = 0x0000000000000400 | 0x0000000000000800  # view channel + send messages
DISCORD_TIMESTAMP = re.compile(r"<t:(\d+):R>")
ARTISTS_ROLE = 880000000000000001
STAFF_ROLE = 880000000000000002


async def admin(fake: FakeDiscord, subcommand: str, options: dict[str, object] | None = None) -> str:
    record = await fake.invoke_slash(
        "quota-admin", options or {}, subcommand=subcommand, user=ADMIN, permissions=PLAIN | MANAGE_GUILD
    )
    reply = await wait_for_ephemeral_reply(fake, record)
    return reply.content or ""


async def test_a_member_over_their_limit_is_told_privately_and_nothing_is_generated(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(QUOTA_USER_DAILY="2")
    for n in range(2):
        await wait_for_result(fake_discord, await imagine(fake_discord, f"picture {n}"))
    record = await imagine(fake_discord, "one too many")
    answer = await wait_for_private_answer(fake_discord, record)
    assert "your limit of 2 image(s) for today" in answer
    assert "0 left" in answer
    (reset,) = DISCORD_TIMESTAMP.findall(answer)
    assert int(reset) % 86400 == 0, "quotas reset at midnight UTC"
    assert record.original is not None
    assert record.original.deleted
    assert len(fake_openai.image_requests) == 2


async def test_a_request_for_more_than_is_left_is_refused_whole(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(QUOTA_USER_DAILY="3")
    answer = await wait_for_private_answer(fake_discord, await imagine(fake_discord, "four at once", count=4))
    assert "3 left" in answer
    assert "needs 4" in answer
    assert fake_openai.image_requests == []


async def test_the_server_limit_is_named_when_it_is_the_one_hit(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(QUOTA_GUILD_DAILY="1")
    await wait_for_result(fake_discord, await imagine(fake_discord, "first"))
    answer = await wait_for_private_answer(fake_discord, await imagine(fake_discord, "second", user=OTHER))
    assert "This server has reached its limit of 1 image(s)" in answer
    assert len(fake_openai.image_requests) == 1


async def test_quota_shows_usage_limits_and_reset(running_bot: RunningBot, fake_discord: FakeDiscord) -> None:
    await wait_for_result(fake_discord, await imagine(fake_discord, "two pictures", count=2))
    card = await quota_card(fake_discord)
    assert card["You, today"] == "2 of 10 used, **8 left**"
    assert card["This server, today"] == "2 used, no limit"
    assert DISCORD_TIMESTAMP.search(card["Resets"])


async def test_a_failed_generation_costs_nothing(
    running_bot: RunningBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    fake_openai.fail_next(Failure.server_error())
    await wait_for_private_answer(fake_discord, await imagine(fake_discord, "doomed", count=3))
    assert (await quota_card(fake_discord))["You, today"] == "0 of 10 used, **10 left**"


async def test_thirty_simultaneous_requests_from_one_member_can_never_overspend(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(IMAGE_CONCURRENCY="8", QUOTA_USER_DAILY="3")
    records = await asyncio.gather(*(imagine(fake_discord, f"burst {n}") for n in range(30)))

    def settled(record: InteractionRecord) -> bool:
        return bool(record.followups) or is_result(record.original)

    await fake_discord.wait_for(lambda: all(settled(r) for r in records), timeout=60)
    delivered = [r for r in records if is_result(r.original)]
    answers = [r.followups[0].content or "" for r in records if r.followups]
    assert len(delivered) in {1, 2, 3}
    assert len(fake_openai.image_requests) == len(delivered)
    # One job runs per member and one more may wait; the rest are told so, or hit the quota. Nobody is charged
    # for anything not delivered.
    assert all("your limit of 3" in a or "already have a picture waiting" in a for a in answers), answers
    assert (await quota_card(fake_discord))["You, today"].startswith(f"{len(delivered)} of 3 used")


async def test_quota_admin_refuses_members_without_manage_server(
    running_bot: RunningBot, fake_discord: FakeDiscord
) -> None:
    # Server admins can override who sees a command; the handler checks again.
    record = await fake_discord.invoke_slash("quota-admin", {"limit": "1000"}, subcommand="server-limit", user=MEMBER)
    await fake_discord.wait_for(lambda: bool(record.callbacks))
    (callback,) = record.callbacks
    assert callback.data is not None
    assert callback.data["flags"] & EPHEMERAL
    assert "Manage Server" in callback.data["content"]
    record = await fake_discord.invoke_slash(
        "quota-admin", {}, subcommand="show", user=ADMIN, permissions=PLAIN | MANAGE_GUILD
    )
    shown = fields_of((await wait_for_ephemeral_reply(fake_discord, record)).embeds[0])
    assert shown["Server, per day"] == "unlimited (default)", "nothing changed"


async def test_admins_set_member_role_and_server_limits(running_bot: RunningBot, fake_discord: FakeDiscord) -> None:
    assert "now gets 1 images per day" in await admin(fake_discord, "user-limit", {"member": MEMBER, "limit": "1"})
    await wait_for_result(fake_discord, await imagine(fake_discord, "my only one"))
    answer = await wait_for_private_answer(fake_discord, await imagine(fake_discord, "one more"))
    assert "your limit of 1 image(s)" in answer

    assert "the default" in await admin(fake_discord, "user-limit", {"member": MEMBER, "limit": "default"})
    assert (await quota_card(fake_discord))["You, today"] == "1 of 10 used, **9 left**"

    assert "now 0" in await admin(fake_discord, "server-limit", {"limit": "0"})
    answer = await wait_for_private_answer(fake_discord, await imagine(fake_discord, "blocked", user=OTHER))
    assert "This server has reached its limit of 0" in answer

    changes = await fake_discord.invoke_slash(
        "quota-admin", {}, subcommand="changes", user=ADMIN, permissions=PLAIN | MANAGE_GUILD
    )
    description = (await wait_for_ephemeral_reply(fake_discord, changes)).embeds[0]["description"]
    lines = description.splitlines()
    assert len(lines) == 3
    assert f"<@{ADMIN.id}> set guild limit: default → 0" in lines[0]
    assert f"<@{ADMIN.id}> set user limit <@{MEMBER.id}>: 1 → default" in lines[1]


async def test_role_limits_and_exempt_roles(start_bot: StartBot, fake_discord: FakeDiscord) -> None:
    fake_discord.add_role(ARTISTS_ROLE, "Artists")
    fake_discord.add_role(STAFF_ROLE, "Staff")
    await start_bot(QUOTA_GUILD_DAILY="5")
    await admin(fake_discord, "role-limit", {"role": ARTISTS_ROLE, "limit": "unlimited"})
    await admin(fake_discord, "exempt-role", {"role": STAFF_ROLE, "exempt": True})

    artist = await quota_card(fake_discord, roles=[ARTISTS_ROLE])
    assert artist["You, today"] == "0 used, no limit"
    staff = await quota_card(fake_discord, roles=[STAFF_ROLE])
    assert staff["You, today"] == "0 used, exempt from limits"
    plain = await quota_card(fake_discord)
    assert plain["You, today"] == "0 of 10 used, **10 left**"
    assert plain["This server, today"] == "0 of 5 used, **5 left**"

    record = await fake_discord.invoke_slash(
        "quota-admin", {}, subcommand="show", user=ADMIN, permissions=PLAIN | MANAGE_GUILD
    )
    shown = fields_of((await wait_for_ephemeral_reply(fake_discord, record)).embeds[0])
    assert shown["Server, per day"] == "5 (default)"
    assert f"<@&{ARTISTS_ROLE}>: unlimited" in next(v for k, v in shown.items() if k.startswith("Role limits"))
    assert f"<@&{STAFF_ROLE}>" in next(v for k, v in shown.items() if k.startswith("Exempt roles"))


async def test_an_admin_can_give_a_member_their_images_back(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(QUOTA_USER_DAILY="1")
    await wait_for_result(fake_discord, await imagine(fake_discord, "used up"))
    assert "got back 1 image(s)" in await admin(fake_discord, "reset-user", {"member": MEMBER})
    await wait_for_result(fake_discord, await imagine(fake_discord, "thanks to the admin"))


async def test_a_malformed_limit_is_explained_privately(running_bot: RunningBot, fake_discord: FakeDiscord) -> None:
    record = await fake_discord.invoke_slash(
        "quota-admin", {"limit": "lots"}, subcommand="server-limit", user=ADMIN, permissions=PLAIN | MANAGE_GUILD
    )
    await fake_discord.wait_for(lambda: bool(record.callbacks))
    data = record.callbacks[0].data
    assert data is not None
    assert data["flags"] & EPHEMERAL
    assert "'unlimited' or 'default'" in data["content"]


async def test_members_with_manage_server_are_limited_like_everyone_else(
    start_bot: StartBot, fake_discord: FakeDiscord, fake_openai: FakeOpenAI
) -> None:
    await start_bot(QUOTA_USER_DAILY="1")
    boss = {"user": ADMIN, "permissions": PLAIN | MANAGE_GUILD}
    await wait_for_result(fake_discord, await fake_discord.invoke_slash("imagine", {"prompt": "mine"}, **boss))
    refused = await fake_discord.invoke_slash("imagine", {"prompt": "one more"}, **boss)
    assert "your limit of 1 image(s)" in await wait_for_private_answer(fake_discord, refused)
    assert len(fake_openai.image_requests) == 1
