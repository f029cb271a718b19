"""The Discord client: intents, mentions policy, the command tree and its single error handler."""

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import discord
from discord import app_commands
from discord.ext import commands

from bot.app.health import HEARTBEAT_INTERVAL_SECONDS, write_heartbeat
from bot.core.images.inputs import InputImages
from bot.core.images.settings import ImageSettingsService
from bot.core.moderation.policy import ModerationService
from bot.core.pipeline.runner import ImageJobRunner
from bot.core.pipeline.tracker import JobTracker
from bot.core.quota import QuotaService
from bot.discord_ui.modlog import ModLog
from bot.discord_ui.replies import explain
from bot.discord_ui.texts import use_locale
from bot.discord_ui.translator import CatalogueTranslator
from bot.providers.retirement import RetirementWatch
from storage.results import ResultsRepository

log = logging.getLogger(__name__)

EXTENSIONS = (
    "cogs.appeals",
    "cogs.image_settings",
    "cogs.retirement",
    "cogs.results",
    "cogs.imagine",
    "cogs.remix",
    "cogs.quota",
    "cogs.quota_admin",
    "cogs.moderation",
    "cogs.info",
)


@dataclass(frozen=True)
class Services:
    """Everything the cogs need, built once by the runner and injected."""

    runner: ImageJobRunner
    quota: QuotaService
    moderation: ModerationService
    modlog: ModLog
    jobs: JobTracker
    results: ResultsRepository
    images: ImageSettingsService
    inputs: InputImages
    retirement: RetirementWatch
    progress_interval: float


class ImagineTree(app_commands.CommandTree["ImagineBot"]):
    """Command tree whose one error handler always answers privately and never shows exception text."""

    async def interaction_check(self, interaction: "discord.Interaction[ImagineBot]") -> bool:
        """Every command answers in its member's language."""
        use_locale(interaction)
        return True

    async def on_error(
        self, interaction: "discord.Interaction[ImagineBot]", error: app_commands.AppCommandError
    ) -> None:
        """Explain our own errors to the member; log everything else with its traceback."""
        await explain(interaction, error.original if isinstance(error, app_commands.CommandInvokeError) else error)


class ImagineBot(commands.AutoShardedBot):
    """The bot. Sharded from the start so the gateway URL comes from ``GET /gateway/bot``, as at scale."""

    def __init__(self, services: Services, *, heartbeat_file: Path | None = None) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=discord.Intents(guilds=True),
            # Set once for every message the bot sends: user text can never ping anyone.
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=ImagineTree,
        )
        self.services = services
        self._heartbeat_file = heartbeat_file
        self._heartbeat_task: asyncio.Task[None] | None = None

    async def setup_hook(self) -> None:
        """Load the feature cogs (with the command translator) and start the health heartbeat."""
        await self.tree.set_translator(CatalogueTranslator())
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        if self._heartbeat_file is not None:
            self._heartbeat_task = asyncio.create_task(self._beat(self._heartbeat_file))

    async def close(self) -> None:
        """Stop the heartbeat, then disconnect."""
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
        await super().close()

    def is_connected(self) -> bool:
        """True while every shard's gateway connection is open (``is_ready()`` stays true through outages)."""
        return self.is_ready() and bool(self.shards) and not any(shard.is_closed() for shard in self.shards.values())

    async def _beat(self, path: Path) -> None:
        await self.wait_until_ready()
        while True:
            if self.is_connected():
                try:
                    await asyncio.to_thread(write_heartbeat, path, time.time())
                except OSError as exc:
                    log.warning("Could not write the health heartbeat to %s: %s", path, exc)
            await asyncio.sleep(HEARTBEAT_INTERVAL_SECONDS)
