"""Translating an interaction's member and server into what the services take."""

import discord
from discord import app_commands

from bot.core.quota import MemberRef


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
