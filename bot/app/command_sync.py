"""Registering slash commands only when they changed: Discord limits command creation per day."""

import hashlib
import json
import logging
from collections.abc import Sequence
from typing import Any

import discord
from discord import app_commands
from discord.http import HTTPClient

from storage.state import BotStateRepository

log = logging.getLogger(__name__)


async def command_payload(tree: app_commands.CommandTree, guild: discord.abc.Snowflake | None) -> list[dict[str, Any]]:
    """Exactly what ``tree.sync(guild=guild)`` would send, translations included."""
    commands = tree.get_commands(guild=guild)
    if tree.translator is not None:
        return [await command.get_translated_payload(tree, tree.translator) for command in commands]
    return [command.to_dict(tree) for command in commands]


def payload_hash(payload: list[dict[str, Any]]) -> str:
    """A stable digest of a registration payload."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def sync_commands_if_changed(
    tree: app_commands.CommandTree, state: BotStateRepository, *, application_id: int, guild_ids: Sequence[int]
) -> list[str]:
    """Bulk-overwrite commands globally, or in each of ``guild_ids``, where they differ from the last registration.

    Scopes registered before but no longer configured (switching from global to guilds, or dropping a guild) are
    cleared, so members never see a command twice. Returns the scopes that were written.
    """
    wanted: dict[str, discord.Object | None] = {f"guild:{gid}": discord.Object(id=gid) for gid in guild_ids}
    if not wanted:
        wanted = {"global": None}
    written = []
    for scope, guild in wanted.items():
        if guild is not None:
            tree.copy_global_to(guild=guild)
        digest = payload_hash(await command_payload(tree, guild))
        if digest == await state.registered_hash(application_id, scope):
            log.info("Commands unchanged in %s; not registering", scope)
            continue
        await tree.sync(guild=guild)
        await state.record_registration(application_id, scope, digest)
        log.info("Registered commands in %s", scope)
        written.append(scope)
    for scope in await state.registered_scopes(application_id):
        if scope not in wanted:
            await _clear(tree.client.http, application_id, scope)
            await state.forget_registration(application_id, scope)
            written.append(scope)
    return written


async def _clear(http: HTTPClient, application_id: int, scope: str) -> None:
    try:
        if scope == "global":
            await http.bulk_upsert_global_commands(application_id, payload=[])
        else:
            await http.bulk_upsert_guild_commands(application_id, int(scope.removeprefix("guild:")), payload=[])
    except discord.Forbidden:
        # The bot left that server: Discord dropped its commands there already.
        log.info("Could not clear commands in %s (no access any more)", scope)
        return
    log.info("Cleared commands no longer configured in %s", scope)
