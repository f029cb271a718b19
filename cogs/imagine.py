"""``/imagine``: validate, acknowledge at once, reserve quota, generate, and post the picture publicly."""

import asyncio
import logging
from http import HTTPStatus
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import Choice
from discord.ext import commands

from bot.embeds import result_embeds, result_files
from bot.members import member_ref
from bot.services.capabilities import ImageOptions, Shape
from bot.services.encoding import prepare_for_upload
from bot.services.errors import BusyError, ImageTooLargeError
from bot.services.identity import safety_identifier
from bot.services.images import GenerationResult, ImageGenerator
from bot.services.jobs import JobTracker
from bot.services.quota import QuotaService, Reservation

if TYPE_CHECKING:
    from bot.client import ImagineBot

log = logging.getLogger(__name__)

# Leave time to post the result (or the error) before Discord's 15-minute interaction token expires.
TOKEN_MARGIN_SECONDS = 60.0


class ImagineCog(commands.Cog):
    """The ``/imagine`` command."""

    def __init__(self, generator: ImageGenerator, quota: QuotaService, salt: bytes, jobs: JobTracker) -> None:
        self._generator = generator
        self._quota = quota
        self._salt = salt
        self._jobs = jobs

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
        with self._jobs.track():
            await interaction.response.defer(thinking=True)
            reservation = await self._quota.reserve(
                member_ref(interaction),
                channel_id=interaction.channel_id or 0,
                images=options.count,
                model=self._generator.capabilities.name,
                size=options.size,
                prompt=prompt,
            )
            try:
                await self._generate_and_post(interaction, prompt, options)
            except BaseException as exc:
                await self._release(reservation, exc)
                raise
        # Delivered: from here on nothing may cut the job short or touch the posted picture.
        await self._settle(reservation)

    async def _generate_and_post(self, interaction: discord.Interaction, prompt: str, options: ImageOptions) -> None:
        """Generate and post before the interaction token expires (which also bounds how long images are held)."""
        remaining = (interaction.expires_at - discord.utils.utcnow()).total_seconds() - TOKEN_MARGIN_SECONDS
        try:
            async with asyncio.timeout(max(remaining, 0.0)):
                result = await self._generator.generate(
                    prompt, options, safety_identifier=safety_identifier(self._salt, interaction.user.id)
                )
                await self._post(interaction, prompt, result)
        except TimeoutError:
            raise BusyError from None

    async def _settle(self, reservation: Reservation) -> None:
        try:
            await self._quota.settle(reservation)
        except Exception:
            log.exception("Could not record the delivery of reservation %s", reservation.generation_id)

    async def _release(self, reservation: Reservation, cause: BaseException) -> None:
        """Give the images back after a failure, without letting a storage error hide the failure itself."""
        try:
            await self._quota.release(reservation, outcome=type(cause).__name__)
        except Exception:
            log.exception("Could not release reservation %s; it expires on its own", reservation.generation_id)

    async def _post(self, interaction: discord.Interaction, prompt: str, result: GenerationResult) -> None:
        limit = _upload_limit(interaction)
        prepared = await asyncio.gather(*(prepare_for_upload(image, limit) for image in result.images))
        files = result_files(prepared, interaction.id)
        embeds = result_embeds(result, files, prompt=prompt, requester=interaction.user)
        try:
            await interaction.edit_original_response(embeds=embeds, attachments=files)
        except discord.HTTPException as exc:
            if exc.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
                raise ImageTooLargeError from exc
            raise
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
    services = bot.services
    await bot.add_cog(ImagineCog(services.generator, services.quota, services.safety_salt, services.jobs))
