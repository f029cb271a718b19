"""``/history`` (my last pictures, with links) and ``/help`` (what the bot does, my quota, the server's rules)."""

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.moderation.policy import ModerationService
from bot.core.quota import QuotaService
from bot.discord_ui.embeds import RESULT_COLOUR, safe_excerpt
from bot.discord_ui.members import member_ref
from bot.discord_ui.notices import retirement_lines
from bot.discord_ui.quota_embeds import usage_line
from bot.discord_ui.texts import text
from bot.providers.retirement import RetirementWatch
from storage.results import ResultsRepository

if TYPE_CHECKING:
    from bot.app.client import ImagineBot

HISTORY_SIZE = 10


class InfoCog(commands.Cog):
    """Private answers about the member's own pictures and the bot."""

    def __init__(
        self,
        results: ResultsRepository,
        quota: QuotaService,
        moderation: ModerationService,
        retirement: RetirementWatch,
    ) -> None:
        self._results = results
        self._quota = quota
        self._moderation = moderation
        self._retirement = retirement

    @app_commands.command(name="history", description="Your latest pictures in this server")
    @app_commands.guild_only()
    async def history(self, interaction: discord.Interaction) -> None:
        """The member's last results: prompt, time, and a link to each message."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        member = member_ref(interaction)
        results = await self._results.history(member.guild_id, member.user_id, limit=HISTORY_SIZE)
        lines = [
            text(
                "history.line",
                when=f"<t:{r.created_at}:R>",
                prompt=(text("history.remix") if r.options.get("inputs_id") else "") + safe_excerpt(r.prompt, 80),
                link=text("history.deleted")
                if r.deleted
                else f"https://discord.com/channels/{r.guild_id}/{r.channel_id}/{r.message_id}",
            )
            for r in results
        ]
        embed = discord.Embed(
            title=text("history.title"), description="\n".join(lines) or text("history.empty"), colour=RESULT_COLOUR
        )
        await interaction.followup.send(embed=embed, ephemeral=True)

    @app_commands.command(name="help", description="What this bot does, your quota, and this server's rules")
    @app_commands.guild_only()
    async def help(self, interaction: discord.Interaction) -> None:
        """Everything a member needs on one private card."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        member = member_ref(interaction)
        status = await self._quota.status(member)
        settings = await self._moderation.settings(member.guild_id)
        embed = discord.Embed(title=text("help.title"), description=text("help.about"), colour=RESULT_COLOUR)
        embed.add_field(name=text("help.options"), value=text("help.options_text"), inline=False)
        embed.add_field(name=text("help.buttons"), value=text("help.buttons_text"), inline=False)
        embed.add_field(
            name=text("help.quota"),
            value=usage_line(status.user_used, status.user_limit, exempt=status.exempt)
            + "\n"
            + text("help.resets", when=discord.utils.format_dt(status.resets_at, "R")),
            inline=False,
        )
        rules = [
            text("help.rule_checked"),
            text("help.rule_output" if settings.output_check else "help.rule_no_output"),
            text("help.rule_strikes", limit=settings.strike_limit, hours=settings.strike_window_hours),
        ]
        embed.add_field(name=text("help.rules"), value="\n".join(rules), inline=False)
        if interaction.permissions.manage_guild and (lines := retirement_lines(self._retirement)):
            embed.add_field(name=text("help.retirements"), value="\n".join(lines), inline=False)
        await interaction.followup.send(embed=embed, ephemeral=True)


async def setup(bot: "ImagineBot") -> None:
    """Extension entry point."""
    services = bot.services
    await bot.add_cog(InfoCog(services.results, services.quota, services.moderation, services.retirement))
