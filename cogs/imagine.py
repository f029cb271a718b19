"""``/imagine``: validate, acknowledge at once, moderate, reserve quota, generate, and post the picture publicly."""

import logging
from http import HTTPStatus
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import Choice
from discord.ext import commands

from bot.embeds import result_embeds, result_files
from bot.generation import Delivery, ImageJobRunner, Job, seconds_left
from bot.members import member_ref
from bot.progress import InteractionProgress
from bot.replies import reply_privately
from bot.services.capabilities import ImageOptions, Shape
from bot.services.errors import ImageTooLargeError, PromptRefusedError
from bot.services.jobs import JobTracker
from bot.services.normalize import clean_prompt
from bot.texts import error_text
from cogs.appeals import appeal_view

if TYPE_CHECKING:
    from bot.client import ImagineBot

log = logging.getLogger(__name__)


def interaction_job(interaction: discord.Interaction, prompt: str, options: ImageOptions) -> Job:
    """A job for this interaction's member and channel, due before its token expires."""
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage
    channel = interaction.channel
    return Job(
        guild=interaction.guild,
        member=member_ref(interaction),
        channel_id=interaction.channel_id or 0,
        prompt=prompt,
        options=options,
        age_restricted=bool(getattr(channel, "is_nsfw", lambda: False)()),
        upload_limit=min(interaction.filesize_limit, interaction.guild.filesize_limit),
        deadline_seconds=seconds_left(interaction),
    )


async def edit_into_result(interaction: discord.Interaction, prompt: str, delivery: Delivery) -> None:
    """Turn the public "thinking…" placeholder into the result message."""
    files = result_files(delivery.images, interaction.id)
    embeds = result_embeds(delivery.result, files, prompt=prompt, requester=interaction.user.mention)
    try:
        await interaction.edit_original_response(embeds=embeds, attachments=files)
    except discord.HTTPException as exc:
        if exc.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
            raise ImageTooLargeError from exc
        raise


class ImagineCog(commands.Cog):
    """The ``/imagine`` command."""

    def __init__(self, runner: ImageJobRunner, jobs: JobTracker, *, progress_interval: float) -> None:
        self._runner = runner
        self._jobs = jobs
        self._progress_interval = progress_interval

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
        """Generate ``count`` pictures of ``prompt``; anything refused is answered privately."""
        prompt = clean_prompt(prompt)
        options = self._runner.generator.capabilities.resolve(prompt, Shape(size), quality, count)
        await interaction.response.defer(thinking=True)

        async def post(delivery: Delivery) -> None:
            await edit_into_result(interaction, prompt, delivery)

        try:
            await self._runner.run(
                interaction_job(interaction, prompt, options),
                post,
                jobs=self._jobs,
                progress=InteractionProgress(interaction, interval=self._progress_interval),
            )
        except PromptRefusedError as refusal:
            await reply_privately(interaction, error_text(refusal), view=appeal_view(refusal))
            return
        log.info("Posted %d image(s) for user %s in guild %s", count, interaction.user.id, interaction.guild_id)


async def setup(bot: "ImagineBot") -> None:
    """Extension entry point: wires the cog to the bot's services."""
    services = bot.services
    await bot.add_cog(ImagineCog(services.runner, services.jobs, progress_interval=services.progress_interval))
