"""``/image-settings``: the models this bot offers, and the server's file format; changes are recorded."""

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import Choice
from discord.ext import commands

from bot.core.images.catalogue import OUTPUT_FORMATS, OutputSettings
from bot.core.images.settings import ImageSettingsService
from bot.discord_ui.members import guild_of
from bot.discord_ui.notices import retirement_lines
from bot.discord_ui.texts import text
from bot.providers.retirement import RetirementWatch

if TYPE_CHECKING:
    from bot.app.client import ImagineBot

FORMAT_NAMES = {"png": "PNG (lossless, largest)", "webp": "WebP (small, keeps transparency)", "jpeg": "JPEG (small)"}


def describe_output(output: OutputSettings) -> str:
    """The server's format as admins read it."""
    if output.compression is None:
        return output.format
    return text("settings.with_compression", format=output.format, compression=output.compression)


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class ImageSettingsCog(
    commands.GroupCog, group_name="image-settings", group_description="This server's picture settings"
):
    """Picture settings for members with Manage Server; every handler checks the permission again."""

    def __init__(self, images: ImageSettingsService, retirement: RetirementWatch) -> None:
        super().__init__()
        self._images = images
        self._retirement = retirement

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Require Manage Server, whatever the server's command permission overrides say."""
        if not interaction.permissions.manage_guild:
            raise app_commands.MissingPermissions(["manage_guild"])
        return True

    @app_commands.command(name="show", description="Show the models this bot offers and this server's file format")
    async def show(self, interaction: discord.Interaction) -> None:
        """The offered models (default first), the server's format, and any shutdown ahead, privately."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        output = await self._images.output(guild_of(interaction).id)
        names = self._images.catalogue.names
        embed = discord.Embed(title=text("settings.title"), colour=discord.Colour.blurple())
        embed.add_field(
            name=text("settings.models"),
            value="\n".join([text("settings.default_model", model=names[0]), *names[1:]]),
            inline=False,
        )
        embed.add_field(name=text("settings.format"), value=describe_output(output), inline=False)
        if lines := retirement_lines(self._retirement):
            embed.add_field(name=text("settings.retirements"), value="\n".join(lines), inline=False)
        await interaction.followup.send(embed=embed, ephemeral=True)

    @app_commands.command(name="format", description="Choose the file format of this server's pictures")
    @app_commands.describe(
        file_format="WebP keeps uploads small", compression="For WebP and JPEG: 0-100, lower is smaller"
    )
    @app_commands.rename(file_format="format")
    @app_commands.choices(file_format=[Choice(name=FORMAT_NAMES[f], value=f) for f in OUTPUT_FORMATS])
    async def format(
        self,
        interaction: discord.Interaction,
        file_format: str,
        compression: app_commands.Range[int, 0, 100] | None = None,
    ) -> None:
        """Set the server's output format; models without formats (behind proxies) ignore it."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild_id = guild_of(interaction).id
        await self._images.set_output(guild_id, file_format, compression, actor_id=interaction.user.id)
        shown = describe_output(OutputSettings(file_format, compression))
        await interaction.followup.send(text("settings.format_done", format=shown), ephemeral=True)


async def setup(bot: "ImagineBot") -> None:
    """Extension entry point."""
    await bot.add_cog(ImageSettingsCog(bot.services.images, bot.services.retirement))
