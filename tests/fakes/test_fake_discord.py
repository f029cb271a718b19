"""The fake Discord, exercised by a real discord.py client: what the bot's end-to-end tests rely on."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands
from PIL import Image

from tests.fakes.discord_server import (
    APPLICATION_ID,
    BOT_USER_ID,
    CHANNEL_ID,
    GUILD_ID,
    FakeDiscord,
    FakeUser,
)

if TYPE_CHECKING:
    import re
    from collections.abc import AsyncIterator, Awaitable, Callable

EPHEMERAL = 64
ALICE = FakeUser(id=345678901234567890, name="alice", global_name="Alice")


def png(width: int = 4, height: int = 3) -> bytes:
    """A small valid PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "teal").save(buffer, "PNG")
    return buffer.getvalue()


def new_bot() -> commands.AutoShardedBot:
    """A bot configured like the real one."""
    return commands.AutoShardedBot(
        command_prefix=commands.when_mentioned,
        intents=discord.Intents.none() | discord.Intents(guilds=True),
        allowed_mentions=discord.AllowedMentions.none(),
    )


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    """A running fake; discord.py's REST base and fallback gateway point at it."""
    async with FakeDiscord() as server:
        monkeypatch.setattr(discord.http.Route, "BASE", server.api_base_url)
        monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(server.gateway_url))
        yield server


@contextlib.asynccontextmanager
async def running(bot: commands.AutoShardedBot, fake: FakeDiscord) -> AsyncIterator[commands.AutoShardedBot]:
    """``bot`` connected to ``fake`` until the block ends."""
    task = asyncio.create_task(bot.start(fake.token))
    try:
        await fake.wait_for_session()
        yield bot
    finally:
        await bot.close()
        await task


async def synced(bot: commands.AutoShardedBot, fake: FakeDiscord) -> None:
    """Register the bot's tree with the fake."""
    await bot.tree.sync()
    assert fake.registered_commands()


async def test_connects_identifies_once_and_caches_the_guild(fake: FakeDiscord) -> None:
    fake.guild_premium_tier[GUILD_ID] = 2
    async with running(new_bot(), fake) as bot:
        await fake.sync_gateway()
        guild = bot.get_guild(GUILD_ID)
        assert guild is not None
        assert guild.filesize_limit == 50 * 2**20
        assert guild.get_channel(CHANNEL_ID) is not None
        assert guild.me is not None
        assert bot.user is not None
        assert bot.user.id == BOT_USER_ID
        assert bot.application_id == APPLICATION_ID
    (identify,) = fake.identifies
    assert identify["intents"] == discord.Intents(guilds=True).value
    assert identify["shard"] == [0, 1]
    assert identify["token"] != fake.token
    routes = [(r.method, r.route) for r in fake.requests]
    assert routes == [("GET", "/users/@me"), ("GET", "/oauth2/applications/@me"), ("GET", "/gateway/bot")]
    assert fake.session_count == 1
    assert fake.contract_violations == []


async def test_tree_sync_registers_commands_with_stable_ids(fake: FakeDiscord) -> None:
    bot = new_bot()
    group = app_commands.Group(name="style", description="Styles")

    @bot.tree.command(description="Draw a picture")
    @app_commands.choices(size=[app_commands.Choice(name="Square", value="square")])
    async def imagine(interaction: discord.Interaction, prompt: str, size: str = "square", count: int = 1) -> None:
        await interaction.response.send_message(f"{prompt} {size} {count}")

    @group.command(description="Save a style")
    async def save(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(f"saved {name}")

    bot.tree.add_command(group)
    async with running(bot, fake):
        await synced(bot, fake)
        await bot.tree.sync()
        first, second = fake.command_registrations
        assert first[0] == "global"
        assert first == second
        commands_by_name = {c["name"]: c for c in fake.registered_commands()}
        assert set(commands_by_name) == {"imagine", "style"}
        options = {o["name"]: o for o in commands_by_name["imagine"]["options"]}
        assert options["prompt"] == {**options["prompt"], "type": 3, "required": True}
        assert options["count"]["type"] == 4
        assert options["size"]["choices"] == [{"name": "Square", "value": "square"}]
        assert all(int(c["id"]) > 0 and c["application_id"] == str(APPLICATION_ID) for c in commands_by_name.values())

        record = await fake.invoke_slash("imagine", {"prompt": "a fox", "count": 2})
        sub = await fake.invoke_slash("style", {"name": "noir"}, subcommand="save")
        await fake.wait_for(lambda: record.original is not None and sub.original is not None)
        assert record.original is not None
        assert record.original.content == "a fox square 2"
        assert sub.original is not None
        assert sub.original.content == "saved noir"

        await bot.tree.sync(guild=discord.Object(GUILD_ID))
        assert fake.command_registrations[-1] == (f"guild:{GUILD_ID}", [])
        with pytest.raises(ValueError, match="must be one of"):
            await fake.invoke_slash("imagine", {"prompt": "x", "size": "huge"})
    ids = {c["name"]: c["id"] for c in fake.registered_commands()}
    assert ids == {c["name"]: c["id"] for c in commands_by_name.values()}
    assert fake.contract_violations == []


async def test_defer_then_edit_with_an_attached_image(fake: FakeDiscord) -> None:
    bot = new_bot()
    picture = png()

    @bot.tree.command(description="Draw")
    async def draw(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        embed = discord.Embed(title="Done").set_image(url="attachment://a.png")
        await interaction.edit_original_response(embed=embed, attachments=[discord.File(io.BytesIO(picture), "a.png")])

    async with running(bot, fake):
        await synced(bot, fake)
        record = await fake.invoke_slash("draw", user=ALICE)
        await fake.wait_for(lambda: record.original is not None and bool(record.original.attachments))
    (callback,) = record.callbacks
    assert callback.type == 5
    assert record.deferred
    assert record.ack_latency is not None
    assert 0 <= record.ack_latency < 1
    original = record.original
    assert original is not None
    assert not original.loading
    assert not original.ephemeral
    (attachment,) = original.attachments
    assert attachment.filename == "a.png"
    assert attachment.content_type == "image/png"
    assert (attachment.width, attachment.height) == (4, 3)
    with Image.open(io.BytesIO(attachment.data)) as image:
        image.load()
        assert image.size == (4, 3)
    assert original.embeds[0]["image"]["url"] == "attachment://a.png"
    assert original.allowed_mentions == {"parse": []}
    assert original.edits == 1
    patch = next(r for r in fake.requests if r.method == "PATCH")
    assert patch.route == "/webhooks/{webhook_id}/{webhook_token}/messages/@original"
    assert patch.files == ["files[0]"]
    assert fake.channel_messages[CHANNEL_ID] == [original]
    assert fake.contract_violations == []


async def test_ephemeral_answers_followups_and_deleting_the_original(fake: FakeDiscord) -> None:
    bot = new_bot()
    fetched: list[discord.InteractionMessage] = []

    @bot.tree.command(description="Secret")
    async def secret(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("only you", ephemeral=True)
        await interaction.followup.send("also only you", ephemeral=True)
        fetched.append(await interaction.original_response())
        await interaction.delete_original_response()

    async with running(bot, fake):
        await synced(bot, fake)
        record = await fake.invoke_slash("secret")
        await fake.wait_for(lambda: record.original is not None and record.original.deleted)
    (callback,) = record.callbacks
    assert callback.type == 4
    assert callback.data is not None
    assert callback.data["flags"] == EPHEMERAL
    assert record.original is not None
    assert record.original.ephemeral
    (followup,) = record.followups
    assert followup.ephemeral
    assert followup.content == "also only you"
    assert fetched[0].content == "only you"
    assert fake.contract_violations == []


async def test_the_first_followup_after_a_defer_resolves_the_placeholder(fake: FakeDiscord) -> None:
    bot = new_bot()

    @bot.tree.command(description="Slow")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send("first")
        await interaction.followup.send("second")

    async with running(bot, fake):
        await synced(bot, fake)
        record = await fake.invoke_slash("slow")
        await fake.wait_for(lambda: len(record.followups) == 1)
    assert record.original is not None
    assert record.original.content == "first"
    assert record.original.ephemeral, "the defer chose ephemeral"
    assert not record.original.loading
    assert [m.content for m in record.followups] == ["second"]
    assert fake.contract_violations == []


async def test_a_second_response_is_refused(fake: FakeDiscord) -> None:
    bot = new_bot()
    refused: asyncio.Future[discord.InteractionResponded] = asyncio.get_running_loop().create_future()

    @bot.tree.command(description="Twice")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("once")
        try:
            await interaction.response.send_message("twice")
        except discord.InteractionResponded as error:
            refused.set_result(error)

    async with running(bot, fake):
        await synced(bot, fake)
        record = await fake.invoke_slash("twice")
        await asyncio.wait_for(refused, 5)
    assert len(record.callbacks) == 1

    # The same mistake made past discord.py's guard reaches Discord, which refuses it.
    url = f"{fake.api_base_url}/interactions/{record.id}/{record.token}/callback"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json={"type": 4, "data": {"content": "x"}}) as reply,
    ):
        assert reply.status == 400
        assert reply.headers["Content-Type"] == "application/json"
        assert (await reply.json())["code"] == 40060
    (violation,) = fake.contract_violations
    assert "second callback" in violation


class Vote(discord.ui.DynamicItem[discord.ui.Button], template=r"vote:(?P<choice>\w+)"):
    """A persistent button whose custom id carries the choice."""

    def __init__(self, choice: str) -> None:
        super().__init__(discord.ui.Button(label=choice, custom_id=f"vote:{choice}"))
        self.choice = choice

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Vote:
        return cls(match["choice"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"voted {self.choice}", ephemeral=True)


async def test_button_presses_reach_views_and_dynamic_items(fake: FakeDiscord) -> None:
    bot = new_bot()
    bot.add_dynamic_items(Vote)

    class Counter(discord.ui.View):
        @discord.ui.select(custom_id="counter:step", options=[discord.SelectOption(label=n) for n in ("1", "5")])
        async def step(self, interaction: discord.Interaction, select: discord.ui.Select[Counter]) -> None:
            await interaction.response.send_message(f"step {select.values[0]}", ephemeral=True)

        @discord.ui.button(label="+1", custom_id="counter:add")
        async def add(self, interaction: discord.Interaction, button: discord.ui.Button[Counter]) -> None:
            await interaction.response.edit_message(content="clicked", view=None)

    @bot.tree.command(description="Count")
    async def count(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("press", view=Counter())

    async with running(bot, fake):
        await synced(bot, fake)
        record = await fake.invoke_slash("count")
        await fake.wait_for(lambda: record.original is not None)
        assert record.original is not None
        pick = await fake.invoke_component("counter:step", record.original, values=["5"])
        await fake.wait_for(lambda: pick.original is not None)
        assert pick.original is not None
        assert pick.original.content == "step 5"
        with pytest.raises(ValueError, match="offers"):
            await fake.invoke_component("counter:step", record.original, values=["7"])
        press = await fake.invoke_component("counter:add", record.original, component_type=2)
        await fake.wait_for(lambda: bool(press.callbacks))
        assert press.callbacks[0].type == 7
        assert record.original.content == "clicked"
        assert record.original.components == []
        assert record.original.edits == 1

        channel = bot.get_channel(CHANNEL_ID)
        assert isinstance(channel, discord.TextChannel)
        poll = discord.ui.View(timeout=None).add_item(Vote("yes"))
        sent = await channel.send("vote!", view=poll)
        (message,) = [m for m in fake.channel_messages[CHANNEL_ID] if m.id == sent.id]
        vote = await fake.invoke_component("vote:yes", message, user=ALICE)
        await fake.wait_for(lambda: vote.original is not None)
        assert vote.original is not None
        assert vote.original.content == "voted yes"
        assert vote.original.ephemeral
        with pytest.raises(LookupError, match="no component"):
            await fake.invoke_component("vote:no", message)
    assert fake.contract_violations == []


async def test_a_modal_submission_reaches_on_submit(fake: FakeDiscord) -> None:
    bot = new_bot()

    class Feedback(discord.ui.Modal, title="Feedback"):
        text: discord.ui.TextInput[Feedback] = discord.ui.TextInput(label="What went wrong?", custom_id="text")
        mood: discord.ui.Label[Feedback] = discord.ui.Label(
            text="Mood",
            component=discord.ui.Select(
                custom_id="mood", options=[discord.SelectOption(label="Calm"), discord.SelectOption(label="Cross")]
            ),
        )

        async def on_submit(self, interaction: discord.Interaction) -> None:
            assert isinstance(self.mood.component, discord.ui.Select)
            mood = self.mood.component.values[0]
            await interaction.response.send_message(f"thanks: {self.text.value} ({mood})", ephemeral=True)

    @bot.tree.command(description="Tell us")
    async def feedback(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Feedback(custom_id="feedback"))

    async with running(bot, fake):
        await synced(bot, fake)
        opened = await fake.invoke_slash("feedback")
        await fake.wait_for(lambda: opened.modal is not None)
        with pytest.raises(ValueError, match="required"):
            await fake.submit_modal("feedback", {"mood": ["Calm"]})
        with pytest.raises(ValueError, match="offers"):
            await fake.submit_modal("feedback", {"text": "x", "mood": ["Happy"]})
        submitted = await fake.submit_modal("feedback", {"text": "the colours", "mood": ["Cross"]})
        await fake.wait_for(lambda: submitted.original is not None)
    assert opened.callbacks[0].type == 9
    assert submitted.original is not None
    assert submitted.original.content == "thanks: the colours (Cross)"
    (row, label) = submitted.payload["data"]["components"]
    assert row["components"][0] == {**row["components"][0], "type": 4, "custom_id": "text", "value": "the colours"}
    assert label["component"]["values"] == ["Cross"]
    assert fake.contract_violations == []


async def test_edits_keep_listed_attachments_and_add_new_files(fake: FakeDiscord) -> None:
    bot = new_bot()
    outcome: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    @bot.tree.command(description="Files")
    async def files(interaction: discord.Interaction) -> None:
        first = [discord.File(io.BytesIO(png()), "one.png"), discord.File(io.BytesIO(b"hello"), "two.txt")]
        await interaction.response.send_message("two files", files=first)
        kept = (await interaction.original_response()).attachments[1]
        new = discord.File(io.BytesIO(png(5, 5)), "three.png", description="bigger")
        await interaction.edit_original_response(attachments=[kept, new])
        outcome.set_result(await kept.read())

    async with running(bot, fake):
        await synced(bot, fake)
        record = await fake.invoke_slash("files")
        assert await asyncio.wait_for(outcome, 5) == b"hello"
    assert record.original is not None
    assert [a.filename for a in record.callbacks[0].files] == ["one.png", "two.txt"]
    two, three = record.original.attachments
    assert two is record.callbacks[0].files[1]
    assert (three.filename, three.description, three.width) == ("three.png", "bigger", 5)
    assert record.original.edits == 1
    assert fake.contract_violations == []


async def test_uploads_over_the_guild_limit_are_refused(fake: FakeDiscord) -> None:
    bot = new_bot()
    outcome: asyncio.Future[discord.HTTPException] = asyncio.get_running_loop().create_future()
    too_big = fake.upload_limit(GUILD_ID) + 1

    @bot.tree.command(description="Big")
    async def big(interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_message(file=discord.File(io.BytesIO(bytes(too_big)), "big.bin"))
        except discord.HTTPException as error:
            outcome.set_result(error)

    async with running(bot, fake):
        await synced(bot, fake)
        record = await fake.invoke_slash("big")
        error = await asyncio.wait_for(outcome, 10)
    assert (error.status, error.code) == (413, 40005)
    assert record.callbacks == []
    (violation,) = fake.contract_violations
    assert "over the guild's" in violation


async def test_late_acknowledgements_are_refused(fake: FakeDiscord) -> None:
    bot = new_bot()
    outcome: asyncio.Future[discord.NotFound] = asyncio.get_running_loop().create_future()
    fake.ack_deadline = 0.0

    @bot.tree.command(description="Late")
    async def late(interaction: discord.Interaction) -> None:
        try:
            await interaction.response.defer()
        except discord.NotFound as error:
            outcome.set_result(error)

    async with running(bot, fake):
        await synced(bot, fake)
        record = await fake.invoke_slash("late")
        error = await asyncio.wait_for(outcome, 5)
    assert error.code == 10062
    assert record.callbacks == []
    (violation,) = fake.contract_violations
    assert "answered after" in violation


async def test_a_callback_returns_its_message_only_when_asked_and_can_be_made_to_fail(fake: FakeDiscord) -> None:
    bot = new_bot()

    @bot.tree.command(description="Answered from outside discord.py")
    async def quiet(interaction: discord.Interaction) -> None:
        pass

    async with running(bot, fake), aiohttp.ClientSession() as http:
        await synced(bot, fake)
        fake.failing_callbacks = 1
        answers = []
        for query in ("?with_response=true", "?with_response=true", ""):
            record = await fake.invoke_slash("quiet")
            url = f"{fake.api_base_url}/interactions/{record.id}/{record.token}/callback{query}"
            async with http.post(url, json={"type": 5}) as response:
                answers.append((response.status, await response.read(), record))

    (failed, _, unanswered), (with_body, body, answered), (no_content, empty, _) = answers
    assert failed == 503
    assert unanswered.callbacks == [], "a failed callback is not applied"
    assert with_body == 200
    assert json.loads(body)["interaction"]["response_message_id"] == str(answered.original.id)
    assert (no_content, empty) == (204, b"")
    assert fake.contract_violations == []


async def test_typed_options_arrive_resolved(fake: FakeDiscord) -> None:
    bot = new_bot()
    seen: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

    @bot.tree.command(description="Typed")
    async def typed(
        interaction: discord.Interaction,
        who: discord.Member,
        where: discord.TextChannel,
        role: discord.Role,
        ratio: float,
        loud: bool,
        image: discord.Attachment,
    ) -> None:
        await interaction.response.defer(ephemeral=True)
        seen.set_result((who.display_name, where.id, role.is_default(), ratio, loud, await image.read()))

    picture = png()
    async with running(bot, fake):
        await synced(bot, fake)
        options = {
            "who": ALICE,
            "where": CHANNEL_ID,
            "role": GUILD_ID,
            "ratio": 0.5,
            "loud": True,
            "image": fake.upload("in.png", picture),
        }
        record = await fake.invoke_slash("typed", options)
        assert await asyncio.wait_for(seen, 5) == ("Alice", CHANNEL_ID, True, 0.5, True, picture)
        with pytest.raises(TypeError, match="cannot take"):
            await fake.invoke_slash("typed", {**options, "loud": "yes"})
    assert record.payload["data"]["resolved"]["users"][str(ALICE.id)]["global_name"] == "Alice"
    assert fake.contract_violations == []


async def test_an_embed_naming_a_missing_attachment_is_noted(fake: FakeDiscord) -> None:
    async with running(new_bot(), fake) as bot:
        await fake.sync_gateway()
        channel = bot.get_channel(CHANNEL_ID)
        assert isinstance(channel, discord.TextChannel)
        await channel.send(embed=discord.Embed().set_image(url="attachment://missing.png"))
    (violation,) = fake.contract_violations
    assert "attachment://missing.png" in violation


async def test_a_dropped_gateway_is_resumed(fake: FakeDiscord) -> None:
    bot = new_bot()

    @bot.tree.command(description="Ping")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")

    async with running(bot, fake):
        await synced(bot, fake)
        await fake.disconnect_gateway()
        await fake.wait_for_session()
        (resume,) = fake.resumes
        assert resume["token"] != fake.token
        record = await fake.invoke_slash("ping")
        await fake.wait_for(lambda: record.original is not None)
    assert len(fake.identifies) == 1
    assert fake.contract_violations == []


@pytest.mark.parametrize("authorization", [None, "Bot wrong-token", "fake-bot-token"])
async def test_rest_without_the_bot_token_is_unauthorized(fake: FakeDiscord, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{fake.api_base_url}/users/@me", headers=headers) as reply,
    ):
        assert reply.status == 401
        assert await reply.json() == {"message": "401: Unauthorized", "code": 0}
    assert fake.contract_violations == []


async def test_a_wrong_token_fails_login(fake: FakeDiscord) -> None:
    bot = new_bot()
    try:
        with pytest.raises(discord.LoginFailure):
            await bot.login("not-the-token")
    finally:
        await bot.close()


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/guilds/1/members", 404, 0),
        ("POST", "/users/@me", 405, 0),
        ("PATCH", f"/webhooks/{APPLICATION_ID}/no-such-token/messages/@original", 404, 10015),
    ],
)
async def test_unknown_routes_and_webhooks(fake: FakeDiscord, method: str, path: str, status: int, code: int) -> None:
    headers = {"Authorization": f"Bot {fake.token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, fake.api_base_url + path, headers=headers, json={"content": "x"}) as reply,
    ):
        assert reply.status == status
        assert (await reply.json())["code"] == code
    (violation,) = fake.contract_violations
    assert path in violation or "unknown webhook" in violation


async def test_wait_for_times_out_with_a_clear_message(fake: FakeDiscord) -> None:
    def never() -> bool:
        return False

    with pytest.raises(TimeoutError, match=r"never still false after 0\.05s"):
        await fake.wait_for(never, timeout=0.05)


async def test_invoking_an_unregistered_command_is_an_error(fake: FakeDiscord) -> None:
    with pytest.raises(LookupError, match="no slash command /nothing"):
        await fake.invoke_slash("nothing")


async def test_a_client_left_connected_at_shutdown_is_noted() -> None:
    async with aiohttp.ClientSession() as session:
        async with FakeDiscord() as fake:
            socket = await session.ws_connect(f"{fake.gateway_url}?v=10&encoding=json")
            assert (await socket.receive_json())["op"] == 10
            closing = asyncio.create_task(socket.receive())  # answers the fake's close frame
        assert (await closing).type is aiohttp.WSMsgType.CLOSE
    (violation,) = fake.contract_violations
    assert "still connected" in violation


class RemixTranslator(app_commands.Translator):
    """Simplified Chinese for the Remix message command, as the bot's catalogue would give it."""

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        return {"Remix": "重绘"}.get(string.message) if locale is discord.Locale.chinese else None


def remix_menu(handle: Callable[[discord.Interaction, discord.Message], Awaitable[None]]) -> app_commands.ContextMenu:
    """A guild-only message command "Remix" that runs ``handle``."""

    @app_commands.context_menu(name="Remix")
    @app_commands.guild_only()
    async def remix(interaction: discord.Interaction, message: discord.Message) -> None:
        await handle(interaction, message)

    return remix


async def test_message_and_user_commands_register_beside_slash_commands(fake: FakeDiscord) -> None:
    bot = new_bot()

    async def ignore(interaction: discord.Interaction, message: discord.Message) -> None:
        pass

    @bot.tree.context_menu(name="Show Avatar")
    async def avatar(interaction: discord.Interaction, member: discord.Member) -> None:
        pass

    @bot.tree.command(description="Remix the picture at a link")
    async def remix(interaction: discord.Interaction, link: str) -> None:
        pass

    bot.tree.add_command(remix_menu(ignore))

    async with running(bot, fake):
        await bot.tree.set_translator(RemixTranslator())
        await synced(bot, fake)
    commands_by_key = {(c["type"], c["name"]): c for c in fake.registered_commands()}
    assert set(commands_by_key) == {(3, "Remix"), (2, "Show Avatar"), (1, "remix")}
    menu = commands_by_key[3, "Remix"]
    assert menu["description"] == ""
    assert "options" not in menu
    assert menu["name_localizations"] == {"zh-CN": "重绘"}
    assert menu["contexts"] == [0]
    assert commands_by_key[2, "Show Avatar"]["description"] == ""
    assert commands_by_key[1, "remix"]["description"] == "Remix the picture at a link"
    assert len({c["id"] for c in commands_by_key.values()}) == 3
    assert fake.contract_violations == []


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        ({"name": "Remix", "type": 1, "description": "Remix a picture"}, "in lower case"),
        ({"name": "remix it", "description": "Remix a picture"}, "in lower case"),
        ({"name": "remix", "type": 1}, "description '' must be 1-100 characters"),
        ({"name": "Remix", "type": 3, "description": "Remix a picture"}, "take no description"),
        ({"name": "Remix", "type": 3, "options": [{"type": 3, "name": "p", "description": "p"}]}, "take no options"),
        ({"name": "Remix", "type": 3, "name_localizations": {"zh": "重绘"}}, "unknown locales ['zh']"),
    ],
)
async def test_commands_discord_refuses_are_refused(fake: FakeDiscord, command: dict[str, Any], problem: str) -> None:
    url = f"{fake.api_base_url}/applications/{APPLICATION_ID}/commands"
    allowed = {"name": "Remix this", "type": 3}  # capitals and spaces are fine in a message command's name
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {fake.token}"}) as session:
        async with session.put(url, json=[allowed, command]) as reply:
            assert reply.status == 400
            assert (await reply.json())["code"] == 50035
        assert fake.registered_commands() == []
        async with session.put(url, json=[allowed]) as reply:
            assert reply.status == 200
            (stored,) = await reply.json()
    assert (stored["name"], stored["type"], stored["description"]) == ("Remix this", 3, "")
    (violation,) = fake.contract_violations
    assert problem in violation


async def test_a_message_command_on_a_members_message_reaches_the_bot_whole(fake: FakeDiscord) -> None:
    bot = new_bot()
    seen: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()

    async def remix(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        (attachment,) = message.attachments
        picture = await attachment.read()
        reply = await interaction.followup.send("remixing", wait=True)
        assert reply.interaction_metadata is not None
        target = reply.interaction_metadata.target_message_id
        seen.put_nowait((message.id, message.author.id, message.content, attachment.filename, picture, target))

    bot.tree.add_command(remix_menu(remix))
    picture = png(6, 4)
    posted = fake.post_member_message("make it blue", author=ALICE, attachments=[fake.upload("cat.png", picture)])
    async with running(bot, fake):
        await synced(bot, fake)
        record = await fake.invoke_message_command("Remix", posted, user=ALICE)
        got = await asyncio.wait_for(seen.get(), 5)
        assert got == (posted.id, ALICE.id, "make it blue", "cat.png", picture, posted.id)

        # The bot's own pictures can be remixed too.
        channel = bot.get_channel(CHANNEL_ID)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send(file=discord.File(io.BytesIO(png(2, 2)), "mine.png"))
        (own,) = [m for m in fake.channel_messages[CHANNEL_ID] if m.id == sent.id]
        await fake.invoke_message_command("Remix", own)
        got = await asyncio.wait_for(seen.get(), 5)
        assert got == (own.id, BOT_USER_ID, "", "mine.png", png(2, 2), own.id)

    (command,) = [c for c in fake.registered_commands() if c["type"] == 3]
    data = record.payload["data"]
    resolved = data["resolved"]["messages"][str(posted.id)]
    assert data == {
        "id": command["id"],
        "name": "Remix",
        "type": 3,
        "target_id": str(posted.id),
        "resolved": {"messages": {str(posted.id): resolved}},
    }
    assert resolved["author"]["id"] == str(ALICE.id)
    assert (resolved["attachments"][0]["width"], resolved["attachments"][0]["height"]) == (6, 4)
    assert "interaction_metadata" not in resolved
    assert "message" not in record.payload
    assert record.target is posted
    assert fake.contract_violations == []


async def test_message_commands_are_found_by_type_and_scope(fake: FakeDiscord) -> None:
    other = fake.add_guild(1146109873520791999, name="Other Guild")
    bot = new_bot()

    async def remix(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.send_message(f"remix of {message.id}", ephemeral=True)

    bot.tree.add_command(remix_menu(remix), guild=discord.Object(GUILD_ID))

    @bot.tree.command(name="remix", description="Remix the picture at a link")
    async def slash_remix(interaction: discord.Interaction, link: str) -> None:
        pass

    posted = fake.post_member_message("a fox", author=ALICE)
    elsewhere = fake.post_member_message("a fox", author=ALICE, guild_id=other.id)
    with pytest.raises(LookupError, match="no message command 'Remix'"):
        await fake.invoke_message_command("Remix", posted)
    async with running(bot, fake):
        await synced(bot, fake)
        await bot.tree.sync(guild=discord.Object(GUILD_ID))
        with pytest.raises(LookupError, match="no message command 'remix'"):
            await fake.invoke_message_command("remix", posted)  # the slash command of that name is not one
        with pytest.raises(LookupError, match=f"in guild {other.id}"):
            await fake.invoke_message_command("Remix", elsewhere, guild_id=other.id)
        with pytest.raises(ValueError, match="not in guild"):
            await fake.invoke_message_command("Remix", elsewhere)
        record = await fake.invoke_message_command("Remix", posted)
        await fake.wait_for(lambda: record.original is not None)
    assert record.payload["data"]["guild_id"] == str(GUILD_ID)
    assert record.original is not None
    assert record.original.content == f"remix of {posted.id}"
    assert fake.contract_violations == []


async def test_a_global_command_not_offered_in_guilds_cannot_be_used_there(fake: FakeDiscord) -> None:
    url = f"{fake.api_base_url}/applications/{APPLICATION_ID}/commands"
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bot {fake.token}"}) as session,
        session.put(url, json=[{"name": "Remix", "type": 3, "contexts": [1, 2]}]) as reply,
    ):
        assert reply.status == 200
    posted = fake.post_member_message("a fox", author=ALICE)
    with pytest.raises(LookupError, match=r"not offered in guilds \(contexts \[1, 2\]\)"):
        await fake.invoke_message_command("Remix", posted)
    assert fake.contract_violations == []


async def test_a_members_message_is_fetched_as_an_app_without_the_message_content_intent_sees_it(
    fake: FakeDiscord,
) -> None:
    picture = png()
    posted = fake.post_member_message(
        "look", author=ALICE, attachments=[fake.upload("a.png", picture)], embeds=[{"title": "a link"}]
    )
    mentioning = fake.post_member_message(f"<@{BOT_USER_ID}> look", author=ALICE)
    async with running(new_bot(), fake) as bot:
        await fake.sync_gateway()
        assert bot.application_flags.gateway_message_content_limited is False
        channel = bot.get_channel(CHANNEL_ID)
        assert isinstance(channel, discord.TextChannel)
        hidden = await channel.fetch_message(posted.id)
        assert (hidden.author.id, hidden.content, hidden.attachments, hidden.embeds) == (ALICE.id, "", [], [])
        shown = await channel.fetch_message(mentioning.id)
        assert shown.content == f"<@{BOT_USER_ID}> look"
        assert [user.id for user in shown.mentions] == [BOT_USER_ID]

        fake.message_content_intent = True
        full = await channel.fetch_message(posted.id)
        assert (full.content, full.embeds[0].title, full.embeds[0].type) == ("look", "a link", "rich")
        assert await full.attachments[0].read() == picture
        with pytest.raises(discord.Forbidden) as refused:
            await full.edit(content="mine now")
        assert refused.value.code == 50005
        await full.delete()  # the bot's role has Manage Messages
    assert posted.content == "look"
    assert posted.deleted
    (violation,) = fake.contract_violations
    assert "posted by a member" in violation


async def test_embed_images_of_a_members_message_are_proxied(fake: FakeDiscord) -> None:
    bot = new_bot()
    seen: asyncio.Future[list[discord.Embed]] = asyncio.get_running_loop().create_future()

    async def remix(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.defer(ephemeral=True)
        seen.set_result(message.embeds)

    bot.tree.add_command(remix_menu(remix))
    on_cdn, external = png(8, 2), png(5, 7)
    fake.host_external("https://example.com/x.png?size=large", external, "image/png")
    gone = "https://example.com/gone.png"
    posted = fake.post_member_message(
        author=ALICE,
        embeds=[
            {"image": {"url": fake.cdn_url(fake.upload("cdn.png", on_cdn))}},
            {"image": {"url": "https://example.com/x.png?size=large"}},
            {"type": "image", "url": gone, "thumbnail": {"url": gone}},  # Discord's preview of a picture's link
        ],
    )
    async with running(bot, fake):
        await synced(bot, fake)
        await fake.invoke_message_command("Remix", posted)
        first, second, third = await asyncio.wait_for(seen, 5)
    assert (first.image.proxy_url, first.image.width, first.image.height) == (first.image.url, 8, 2)
    assert second.image.proxy_url is not None
    assert second.image.proxy_url.startswith(f"{fake.base_url}/external/")
    assert second.image.proxy_url.endswith("/https/example.com/x.png?size=large")
    assert (second.image.width, second.image.height) == (5, 7)
    assert third.type == "image"
    assert third.thumbnail.proxy_url is not None
    assert third.thumbnail.width is None
    async with aiohttp.ClientSession() as session:
        for url, body in ((first.image.proxy_url, on_cdn), (second.image.proxy_url, external)):
            async with session.get(url) as reply:
                assert (reply.status, reply.content_type, await reply.read()) == (200, "image/png", body)
        async with session.get(third.thumbnail.proxy_url) as reply:
            assert reply.status == 404
    assert fake.contract_violations == []


async def test_a_modal_with_a_text_display_and_a_labelled_text_input(fake: FakeDiscord) -> None:
    bot = new_bot()

    class RemixModal(discord.ui.Modal, title="Remix"):
        def __init__(self, target: discord.Message) -> None:
            super().__init__(custom_id="remix")
            self.target = target
            self.add_item(discord.ui.TextDisplay(f"Remixing **{target.attachments[0].filename}**"))
            self.prompt: discord.ui.TextInput[RemixModal] = discord.ui.TextInput(
                custom_id="prompt", style=discord.TextStyle.paragraph, max_length=200
            )
            self.add_item(discord.ui.Label(text="What should change?", component=self.prompt))

        async def on_submit(self, interaction: discord.Interaction) -> None:
            picture = await self.target.attachments[0].read()
            await interaction.response.send_message(f"{self.prompt.value}: {len(picture)} bytes", ephemeral=True)

    async def remix(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.send_modal(RemixModal(message))

    bot.tree.add_command(remix_menu(remix))
    picture = png()
    posted = fake.post_member_message(author=ALICE, attachments=[fake.upload("cat.png", picture)])
    async with running(bot, fake):
        await synced(bot, fake)
        opened = await fake.invoke_message_command("Remix", posted, user=ALICE)
        await fake.wait_for(lambda: opened.modal is not None)
        assert opened.modal is not None
        text, label = opened.modal["components"]
        assert text == {**text, "type": 10, "content": "Remixing **cat.png**"}
        assert (label["type"], label["label"], label["component"]["custom_id"]) == (18, "What should change?", "prompt")
        with pytest.raises(ValueError, match=r"takes 0\.\.200 characters"):
            await fake.submit_modal("remix", {"prompt": "x" * 201})
        submitted = await fake.submit_modal("remix", {"prompt": "make it blue"})
        await fake.wait_for(lambda: submitted.original is not None)
    assert submitted.payload["data"]["components"] == [
        {"type": 10, "id": 1},
        {"type": 18, "id": 2, "component": {"type": 4, "id": 3, "custom_id": "prompt", "value": "make it blue"}},
    ]
    assert "message" not in submitted.payload
    assert submitted.user == ALICE
    assert submitted.original is not None
    assert submitted.original.content == f"make it blue: {len(picture)} bytes"
    assert fake.contract_violations == []
