"""``/imagine``: validate, acknowledge at once, generate, and post the picture publicly."""

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import Choice
from discord.ext import commands

from bot.embeds import result_embeds, result_files
from bot.services.capabilities import Shape
from bot.services.encoding import prepare_for_upload
from bot.services.errors import BusyError
from bot.services.identity import safety_identifier
from bot.services.images import ImageGenerator

if TYPE_CHECKING:
    from bot.client import ImagineBot

log = logging.getLogger(__name__)

# Leave time to post the result (or the error) before Discord's 15-minute interaction token expires.
TOKEN_MARGIN_SECONDS = 60.0


class ImagineCog(commands.Cog):
    """The ``/imagine`` command."""

    def __init__(self, generator: ImageGenerator, salt: bytes) -> None:
        self._generator = generator
        self._salt = salt

    @app_commands.command(name="imagine", description="Turn a text prompt into a picture")
    @app_commands.describe(
        prompt="What should the picture show?",
        size="The picture's shape",
        quality="Higher quality takes longer",
        count="How many pictures to make (1-4)",
    )
    @app_commands.choices(
        size=[
            Choice(name="Square", value=Shape.SQUARE.value),
            Choice(name="Landscape", value=Shape.LANDSCAPE.value),
            Choice(name="Portrait", value=Shape.PORTRAIT.value),
        ],
        quality=[
            Choice(name="Low (fastest)", value="low"),
            Choice(name="Medium", value="medium"),
            Choice(name="High", value="high"),
        ],
    )
    @app_commands.guild_only()
    async def imagine(
        self,
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, 4000],
        size: str = Shape.SQUARE.value,
        quality: str | None = None,
        count: app_commands.Range[int, 1, 4] = 1,
    ) -> None:
        """Generate ``count`` pictures of ``prompt``; a bad option combination is answered privately at once."""
        options = self._generator.capabilities.resolve(prompt, Shape(size), quality, count)
        await interaction.response.defer(thinking=True)

        remaining = (interaction.expires_at - discord.utils.utcnow()).total_seconds() - TOKEN_MARGIN_SECONDS
        try:
            async with asyncio.timeout(max(remaining, 0.0)):
                result = await self._generator.generate(
                    prompt, options, safety_identifier=safety_identifier(self._salt, interaction.user.id)
                )
        except TimeoutError:
            raise BusyError from None

        limit = _upload_limit(interaction)
        prepared = await asyncio.gather(*(prepare_for_upload(image, limit) for image in result.images))
        files = result_files(prepared, interaction.id)
        embeds = result_embeds(result, files, prompt=prompt, requester=interaction.user)
        await interaction.edit_original_response(embeds=embeds, attachments=files)
        log.info(
            "Posted %d image(s) for user %s in guild %s after %.1f s",
            len(files),
            interaction.user.id,
            interaction.guild_id,
            result.seconds,
        )


def _upload_limit(interaction: discord.Interaction) -> int:
    """The per-file upload limit here: what Discord says for this interaction, and never above the guild's."""
    if interaction.guild is None:
        return interaction.filesize_limit
    return min(interaction.filesize_limit, interaction.guild.filesize_limit)


async def setup(bot: "ImagineBot") -> None:
    """Extension entry point: wires the cog to the bot's services."""
    await bot.add_cog(ImagineCog(bot.services.generator, bot.services.safety_salt))
