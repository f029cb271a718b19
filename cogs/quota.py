"""``/quota``: a member's remaining images today, privately."""

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.quota import QuotaService, QuotaStatus
from bot.discord_ui.members import member_ref
from bot.discord_ui.texts import reset_time, text

if TYPE_CHECKING:
    from bot.app.client import ImagineBot


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


class QuotaCog(commands.Cog):
    """The ``/quota`` command."""

    def __init__(self, quota: QuotaService) -> None:
        self._quota = quota

    @app_commands.command(name="quota", description="See how many images you have left today")
    @app_commands.guild_only()
    async def quota(self, interaction: discord.Interaction) -> None:
        """Show the member's and the server's usage and limits, and when they reset."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        status = await self._quota.status(member_ref(interaction))
        await interaction.followup.send(embed=quota_embed(status), ephemeral=True)


async def setup(bot: "ImagineBot") -> None:
    """Extension entry point."""
    await bot.add_cog(QuotaCog(bot.services.quota))
