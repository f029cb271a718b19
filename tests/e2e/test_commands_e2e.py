"""Start-up: commands registered only when the tree changed (globally or in the configured guilds); heap settled."""

import gc
import sqlite3

from tests.conftest import StartBot
from tests.fakes.discord_server import GUILD_ID, FakeDiscord

STRING, INTEGER, ATTACHMENT = 3, 4, 11
MESSAGE_COMMAND = 3
COMMANDS = ["Remix", "help", "history", "image-settings", "imagine", "moderation", "quota", "quota-admin"]


async def test_the_first_start_registers_imagine_globally(start_bot: StartBot, fake_discord: FakeDiscord) -> None:
    bot = await start_bot()
    await bot.stop()
    ((scope, payload),) = fake_discord.command_registrations
    assert scope == "global"
    commands = {c["name"]: c for c in payload}
    assert sorted(commands) == COMMANDS
    command = commands["imagine"]
    options = {option["name"]: option for option in command["options"]}
    assert options["prompt"]["type"] == STRING
    assert options["prompt"]["required"] is True
    assert (options["prompt"]["min_length"], options["prompt"]["max_length"]) == (1, 4000)
    assert [c["value"] for c in options["aspect"]["choices"]] == ["1:1", "3:2", "2:3", "16:9", "9:16"]
    assert [c["value"] for c in options["quality"]["choices"]] == ["low", "medium", "high", "xhigh", "max"]
    assert [c["value"] for c in options["background"]["choices"]] == ["auto", "transparent", "opaque"]
    assert "model" not in options
    assert options["count"]["type"] == INTEGER
    assert (options["count"]["min_value"], options["count"]["max_value"]) == (1, 4)
    assert command["contexts"] == [0], "guild only"
    pictures = [options[name] for name in ("image", "image2", "image3")]
    assert [(o["type"], o.get("required", False)) for o in pictures] == [(ATTACHMENT, False)] * 3
    remix = commands["Remix"]
    assert (remix["type"], remix["contexts"], remix["name_localizations"]) == (MESSAGE_COMMAND, [0], {"zh-CN": "重绘"})
    admin = commands["quota-admin"]
    assert admin["default_member_permissions"] == 1 << 5, "Manage Server by default"
    assert admin["contexts"] == [0]
    assert {o["name"] for o in admin["options"]} == {
        "show",
        "server-limit",
        "user-default",
        "role-limit",
        "user-limit",
        "exempt-role",
        "reset-user",
        "changes",
    }
    settings = commands["image-settings"]
    assert settings["default_member_permissions"] == 1 << 5
    assert {o["name"] for o in settings["options"]} == {"show", "format"}
    moderation = commands["moderation"]
    assert moderation["default_member_permissions"] == 1 << 5
    groups = {o["name"]: o for o in moderation["options"]}
    assert {o["name"] for o in groups["blocklist"]["options"]} == {"add", "remove", "list", "clear", "defaults"}
    assert {o["name"] for o in groups["thresholds"]["options"]} == {"show", "set"}
    assert {o["name"] for o in groups["strikes"]["options"]} == {"list", "pardon", "policy"}
    assert {"modlog", "output-check", "suspend", "unsuspend", "test"} <= set(groups)
    block_at = next(o for o in groups["thresholds"]["options"] if o["name"] == "set")["options"][1]
    assert "HIGHER = MORE LENIENT" in block_at["description"]


async def test_a_restart_with_an_unchanged_tree_registers_nothing(
    start_bot: StartBot, fake_discord: FakeDiscord
) -> None:
    await (await start_bot()).stop()
    await (await start_bot()).stop()
    assert len(fake_discord.command_registrations) == 1


async def test_a_changed_tree_is_registered_again(start_bot: StartBot, fake_discord: FakeDiscord) -> None:
    first = await start_bot()
    await first.stop()
    # What an upgrade that changes a command looks like from the database's side: the stored hash no longer matches.
    with sqlite3.connect(first.settings.database_path) as raw:
        raw.execute("UPDATE command_registrations SET payload_hash = 'stale'")
    await (await start_bot()).stop()
    await (await start_bot()).stop()
    assert len(fake_discord.command_registrations) == 2


async def test_guild_ids_register_in_those_guilds_only(start_bot: StartBot, fake_discord: FakeDiscord) -> None:
    await (await start_bot(COMMAND_GUILD_IDS=str(GUILD_ID))).stop()
    ((scope, payload),) = fake_discord.command_registrations
    assert scope == f"guild:{GUILD_ID}"
    assert sorted(c["name"] for c in payload) == COMMANDS
    assert fake_discord.registered_commands("global") == []


async def test_switching_between_global_and_guild_registration_clears_the_old_scope(
    start_bot: StartBot, fake_discord: FakeDiscord
) -> None:
    await (await start_bot()).stop()
    await (await start_bot(COMMAND_GUILD_IDS=str(GUILD_ID))).stop()
    assert fake_discord.registered_commands("global") == []
    assert len(fake_discord.registered_commands(f"guild:{GUILD_ID}")) == len(COMMANDS)

    await (await start_bot()).stop()
    assert fake_discord.registered_commands(f"guild:{GUILD_ID}") == []
    assert len(fake_discord.registered_commands("global")) == len(COMMANDS)
    scopes = [scope for scope, _ in fake_discord.command_registrations]
    assert scopes == ["global", f"guild:{GUILD_ID}", "global", "global", f"guild:{GUILD_ID}"]


async def test_start_up_moves_long_lived_objects_out_of_the_collectors_sight(
    start_bot: StartBot, fake_discord: FakeDiscord
) -> None:
    gc.unfreeze()
    await start_bot()
    assert fake_discord.session_count == 1
    assert gc.get_freeze_count() > 0, "full collections would walk every module and schema, pausing the bot"
