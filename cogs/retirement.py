"""Model retirement, once a day: the log's warning, and one notice per server's mod-log 30, 7 and 1 days before."""

import datetime
import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands, tasks

from bot.discord_ui.modlog import ModLog
from bot.discord_ui.notices import notice_embed
from bot.providers.retirement import Retirement, RetirementWatch

if TYPE_CHECKING:
    from bot.app.client import ImagineBot

log = logging.getLogger(__name__)

# Shutdown dates are UTC days: checking just after midnight UTC makes "1 day before" a whole day's notice.
DAILY_CHECK_AT = datetime.time(0, 5, tzinfo=datetime.UTC)


class RetirementCog(commands.Cog):
    """Posts the notices due once connected (the start-up check is the day's first look), then looks again and posts
    every day just after midnight UTC."""

    def __init__(self, bot: "ImagineBot", watch: RetirementWatch, modlog: ModLog) -> None:
        self._bot = bot
        self._watch = watch
        self._modlog = modlog

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Once connected (``on_ready`` comes again after reconnects, which change nothing here)."""
        if self.daily.is_running():
            return
        self.daily.start()
        await self._post_due_notices()

    async def cog_unload(self) -> None:
        """Stop it."""
        self.daily.cancel()

    @tasks.loop(time=DAILY_CHECK_AT)
    async def daily(self) -> None:
        """Look again, then post what is due."""
        try:
            await self._watch.check_daily()
        except Exception:  # an exception would end the loop for good
            log.exception("The daily model check failed; it runs again tomorrow")
        await self._post_due_notices()

    async def _post_due_notices(self) -> None:
        """For every server and every model shutting down soon, the notice due today, if not posted yet. Never
        raises: a failure (a full disk, say) is logged, and the next day's run tries again."""
        today = self._watch.today()
        try:
            for retirement in self._watch.upcoming:
                due = retirement.notice_due(today)
                if due is None:
                    continue
                for guild in self._bot.guilds:
                    await self._notify(guild, retirement, due, retirement.days_left(today))
        except Exception:
            log.exception("Posting model retirement notices failed; the next daily check tries again")

    async def _notify(self, guild: discord.Guild, retirement: Retirement, due: int, days_left: int) -> None:
        if not await self._watch.claim_notice(guild.id, retirement, due):
            return
        posted = None
        try:
            posted = await self._modlog.post(guild, embed=notice_embed(retirement, days_left))
        finally:  # not posted (no mod-log yet, a failure, a shutdown): the next check tries again
            if posted is None:
                await self._watch.release_notice(guild.id, retirement, due)


async def setup(bot: "ImagineBot") -> None:
    """Extension entry point."""
    services = bot.services
    await bot.add_cog(RetirementCog(bot, services.retirement, services.modlog))
