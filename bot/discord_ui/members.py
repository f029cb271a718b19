"""Translating an interaction's member and server into what the services take."""

import discord
from discord import app_commands

from bot.core.quota import MemberRef

# Leave time to post the result (or the error) before Discord's 15-minute interaction token expires.
TOKEN_MARGIN_SECONDS = 60.0


def seconds_left(interaction: discord.Interaction) -> float:
    """How long a job answering ``interaction`` may take, keeping a margin before its token expires."""
    return (interaction.expires_at - discord.utils.utcnow()).total_seconds() - TOKEN_MARGIN_SECONDS


def guild_of(interaction: discord.Interaction) -> discord.Guild:
    """The interaction's server; commands using this are guild-only, so outside one it is the usual refusal."""
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage
    return interaction.guild


def member_ref(interaction: discord.Interaction) -> MemberRef:
    """The invoking member with their roles (guild interactions only: commands using it are guild-only)."""
    if interaction.guild_id is None or not isinstance(interaction.user, discord.Member):
        raise app_commands.NoPrivateMessage
    return MemberRef(
        guild_id=interaction.guild_id,
        user_id=interaction.user.id,
        role_ids=frozenset(role.id for role in interaction.user.roles),
    )


async def member_of(guild: discord.Guild, user_id: int) -> MemberRef:
    """A member of ``guild`` with their roles (for their quota), fetched if not cached; no roles if they left."""
    member = guild.get_member(user_id)
    if member is None:
        try:
            member = await guild.fetch_member(user_id)
        except discord.HTTPException:
            return MemberRef(guild.id, user_id, frozenset())
    return MemberRef(guild.id, user_id, frozenset(role.id for role in member.roles))
