"""A member's quota as members see it: usage lines and the quota card."""

import discord

from bot.core.quota import QuotaStatus
from bot.discord_ui.texts import reset_time, text


def usage_line(used: int, limit: int | None, *, exempt: bool = False) -> str:
    """One line of usage against a limit."""
    if exempt:
        return text("quota.exempt", used=used)
    if limit is None:
        return text("quota.unlimited", used=used)
    return text("quota.used_of", used=used, limit=limit, remaining=max(0, limit - used))


def quota_embed(status: QuotaStatus) -> discord.Embed:
    """The member's quota card."""
    embed = discord.Embed(title=text("quota.title"), colour=discord.Colour.blurple())
    embed.add_field(
        name=text("quota.yours"), value=usage_line(status.user_used, status.user_limit, exempt=status.exempt)
    )
    embed.add_field(name=text("quota.server"), value=usage_line(status.guild_used, status.guild_limit))
    embed.add_field(name=text("quota.resets"), value=reset_time(status.resets_at), inline=False)
    return embed
