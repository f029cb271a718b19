"""The per-guild moderation log: an embed per refusal or appeal, in the channel moderators chose.

A missing channel or permission never fails the request that triggered the post: the problem is remembered,
logged once, and shown to the next admin who uses /moderation.
"""

import io
import logging
from collections.abc import Sequence
from datetime import datetime

import discord

from bot.core.images.encoding import PreparedImage
from bot.core.moderation.policy import ModerationService
from bot.discord_ui.embeds import safe_excerpt
from bot.discord_ui.texts import text
from storage.moderation import Refusal

log = logging.getLogger(__name__)

REFUSAL_COLOUR = discord.Colour.orange()


def spoiler(value: str, limit: int) -> str:
    """User text behind a spoiler; escaping (which covers ``|``) keeps it from breaking out, pinging or formatting."""
    return f"||{safe_excerpt(value, limit - 4)}||"


def refusal_embed(
    refusal: Refusal, *, title_key: str = "modlog.refusal_title", suspended_until: datetime | None = None
) -> discord.Embed:
    """A moderator's view of one refusal: who, where, which layer, what it found, the prompt behind a spoiler,
    and the suspension it triggered, if any."""
    embed = discord.Embed(title=text(title_key), colour=REFUSAL_COLOUR)
    embed.add_field(name=text("modlog.member"), value=f"<@{refusal.user_id}>")
    embed.add_field(name=text("modlog.channel"), value=f"<#{refusal.channel_id}>")
    embed.add_field(name=text("modlog.layer"), value=text(f"layer.{refusal.layer}"))
    findings = "\n".join(
        f"{name}: {score:.2f}" if isinstance(score, float | int) else f"{name}: {safe_excerpt(str(score), 200)}"
        for name, score in refusal.findings.items()
    )
    embed.add_field(name=text("modlog.findings"), value=findings or "-", inline=False)
    embed.add_field(name=text("modlog.prompt"), value=spoiler(refusal.prompt, 1024), inline=False)
    if suspended_until is not None:
        embed.add_field(name=text("modlog.strikes"), value=discord.utils.format_dt(suspended_until, "f"))
    embed.set_footer(text=f"refusal {refusal.id}")
    return embed


def spoiler_file(data: bytes, extension: str, refusal_id: int) -> discord.File:
    """A withheld picture for moderators, hidden behind Discord's spoiler blur."""
    return discord.File(io.BytesIO(data), filename=f"withheld-{refusal_id}.{extension}", spoiler=True)


class ModLog:
    """Posts to a guild's mod-log channel, if it has one."""

    def __init__(self, moderation: ModerationService) -> None:
        self._moderation = moderation

    def refusals(self, guild: discord.Guild) -> "GuildRefusalLog":
        """Where the job pipeline tells this server's moderators of a refusal."""
        return GuildRefusalLog(self, guild)

    async def post(
        self,
        guild: discord.Guild,
        *,
        embed: discord.Embed,
        files: Sequence[discord.File] = (),
        view: discord.ui.View = discord.utils.MISSING,
    ) -> discord.Message | None:
        """Send to the mod-log; ``None`` if there is none or it failed (the failure is remembered, not raised)."""
        settings = await self._moderation.settings(guild.id)
        if settings.modlog_channel_id is None:
            return None
        channel = guild.get_channel(settings.modlog_channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread | discord.VoiceChannel):
            await self._problem(guild, "the mod-log channel no longer exists")
            return None
        try:
            message = await channel.send(embed=embed, files=list(files), view=view)
        except discord.Forbidden:
            await self._problem(
                guild, f"the bot may not post in #{channel.name} (it needs Send Messages, Embed Links and Attach Files)"
            )
            return None
        except discord.HTTPException as exc:
            await self._problem(guild, f"Discord refused the mod-log message ({exc.status})")
            return None
        await self._moderation.modlog_works(guild.id)
        return message

    async def _problem(self, guild: discord.Guild, problem: str) -> None:
        if await self._moderation.note_modlog_problem(guild.id, problem):
            log.warning("Mod-log of guild %s cannot be used: %s", guild.id, problem)


class GuildRefusalLog:
    """A server's refusals, posted to its mod-log with the withheld picture (if any) behind a spoiler."""

    def __init__(self, modlog: ModLog, guild: discord.Guild) -> None:
        self._modlog = modlog
        self._guild = guild

    async def refused(
        self, refusal: Refusal, *, output: bool, suspended_until: datetime | None, image: PreparedImage | None
    ) -> None:
        """Post the refusal; a mod-log that cannot be used is remembered, never raised."""
        title = "modlog.output_title" if output else "modlog.refusal_title"
        embed = refusal_embed(refusal, title_key=title, suspended_until=suspended_until)
        files = [spoiler_file(image.data, image.extension, refusal.id)] if image is not None else []
        await self._modlog.post(self._guild, embed=embed, files=files)
