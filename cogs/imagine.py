"""``/imagine``: validate the options, then hand over to the public job path (moderation, quota, queue, result)."""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import Choice
from discord.ext import commands

from bot.services.capabilities import ImageOptions, ModelCapabilities, Shape
from bot.services.errors import BotError
from bot.services.normalize import clean_prompt
from cogs.results import run_public_job

if TYPE_CHECKING:
    from bot.client import ImagineBot


class ImagineCog(commands.Cog):
    """The ``/imagine`` command."""

    def __init__(self, capabilities: ModelCapabilities) -> None:
        self._capabilities = capabilities

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
        prompt, options = self._resolve(prompt, size, quality, count)
        await run_public_job(interaction, prompt, options)

    def makes_public_job(self, options: Mapping[str, Any]) -> bool:
        """Whether raw /imagine options (from the gateway) pass the checks the command makes before its public job,
        so it can be acknowledged publicly at once; otherwise it is answered as usual, privately."""
        try:
            size, count = options.get("size", Shape.SQUARE.value), options.get("count", 1)
            self._resolve(options["prompt"], size, options.get("quality"), count)
        except (LookupError, TypeError, ValueError, BotError):
            return False
        return True

    def _resolve(self, prompt: str, size: str, quality: str | None, count: int) -> tuple[str, ImageOptions]:
        prompt = clean_prompt(prompt)
        return prompt, self._capabilities.resolve(prompt, Shape(size), quality, count)


async def setup(bot: "ImagineBot") -> None:
    """Extension entry point: wires the cog to the bot's services."""
    cog = ImagineCog(bot.services.runner.generator.capabilities)
    await bot.add_cog(cog)
    bot.services.early_acks.acknowledge_publicly("imagine", cog.makes_public_job)
