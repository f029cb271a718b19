"""Registering slash commands only when they changed: Discord limits command creation per day."""

import hashlib
import json
import logging
from collections.abc import Sequence
from typing import Any

import discord
from discord import app_commands

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

    Returns the scopes that were registered (empty when nothing changed).
    """
    targets: list[discord.Object | None] = [discord.Object(id=gid) for gid in guild_ids] or [None]
    synced = []
    for guild in targets:
        if guild is not None:
            tree.copy_global_to(guild=guild)
        scope = f"{application_id}:" + (f"guild:{guild.id}" if guild else "global")
        digest = payload_hash(await command_payload(tree, guild))
        if digest == await state.command_tree_hash(scope):
            log.info("Commands unchanged for %s; not registering", scope)
            continue
        await tree.sync(guild=guild)
        await state.remember_command_tree_hash(scope, digest)
        log.info("Registered commands for %s", scope)
        synced.append(scope)
    return synced
