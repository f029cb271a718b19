"""Model retirement, once a day: the log's warning, and one notice per server's mod-log 30, 7 and 1 days before."""

import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands, tasks

from bot.modlog import ModLog
from bot.notices import notice_embed
from bot.services.retirement import Retirement, RetirementWatch

if TYPE_CHECKING:
    from bot.client import ImagineBot

log = logging.getLogger(__name__)


class RetirementCog(commands.Cog):
    """Checks the endpoint's model list daily (the start-up check is the first) and posts due notices."""

    def __init__(self, bot: "ImagineBot", watch: RetirementWatch, modlog: ModLog) -> None:
        self._bot = bot
        self._watch = watch
        self._modlog = modlog

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Start the daily loop once connected (``on_ready`` comes again after reconnects)."""
        if not self.daily.is_running():
            self.daily.start()

    async def cog_unload(self) -> None:
        """Stop it."""
        self.daily.cancel()

    @tasks.loop(hours=24)
    async def daily(self) -> None:
        """Check again (the start-up check counts as today's), then post what is due."""
        try:
            if self.daily.current_loop > 0:
                await self._watch.check_daily()
            await self.post_due_notices()
        except Exception:
            # A failure (a full disk, say) must not end the loop: tomorrow's run may succeed.
            log.exception("The daily model check failed; it runs again tomorrow")

    async def post_due_notices(self) -> None:
        """For every server and every model shutting down soon, the notice due today, if not posted yet."""
        today = self._watch.today()
        for retirement in self._watch.upcoming:
            due = retirement.notice_due(today)
            if due is None:
                continue
            for guild in self._bot.guilds:
                await self._notify(guild, retirement, due, retirement.days_left(today))

    async def _notify(self, guild: discord.Guild, retirement: Retirement, due: int, days_left: int) -> None:
        if not await self._watch.claim_notice(guild.id, retirement, due):
            return
        if await self._modlog.post(guild, embed=notice_embed(retirement, days_left)) is None:
            await self._watch.release_notice(guild.id, retirement, due)


async def setup(bot: "ImagineBot") -> None:
    """Extension entry point."""
    services = bot.services
    await bot.add_cog(RetirementCog(bot, services.retirement, services.modlog))
