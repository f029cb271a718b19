"""``/quota``: a member's remaining images today, privately."""

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.quota import QuotaService
from bot.discord_ui.members import member_ref
from bot.discord_ui.quota_embeds import quota_embed

if TYPE_CHECKING:
    from bot.app.client import ImagineBot


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
