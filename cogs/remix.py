"""The Remix message command (Apps → Remix on any message with a picture): a modal asks for the prompt, and the
remix is posted in the channel with a link back to the message."""

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.core.errors import InputImageError
from bot.discord_ui.context import services_of
from bot.discord_ui.remix import RemixModal
from bot.discord_ui.sources import message_source

if TYPE_CHECKING:
    from bot.app.client import ImagineBot

COMMAND_NAME = "Remix"


async def remix(interaction: discord.Interaction, message: discord.Message) -> None:
    """Open the Remix modal for the message's first picture; said privately if it has none, or if this server's
    model cannot edit."""
    source = message_source(message)
    if source is None:
        raise InputImageError("none")
    services_of(interaction).images.catalogue.capabilities(None).check_inputs(1)
    await interaction.response.send_modal(RemixModal(source, message.jump_url))


async def setup(bot: "ImagineBot") -> None:
    """Extension entry point: the command exists only where some offered model can edit."""
    if bot.services.images.catalogue.max_inputs():
        menu = app_commands.ContextMenu(name=COMMAND_NAME, callback=remix, type=discord.AppCommandType.message)
        bot.tree.add_command(app_commands.guild_only()(menu))


async def teardown(bot: "ImagineBot") -> None:
    """Extension exit point."""
    bot.tree.remove_command(COMMAND_NAME, type=discord.AppCommandType.message)
