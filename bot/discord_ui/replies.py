"""Answering members privately, whatever state their interaction is in."""

import logging
from contextlib import suppress

import discord
from discord import app_commands

from bot.core.errors import BotError, UnsupportedOptionError
from bot.discord_ui.texts import error_text, text

log = logging.getLogger(__name__)

MAX_CONTENT = 2000


def clip(value: str, limit: int) -> str:
    """``value`` cut to at most ``limit`` characters, marking the cut with an ellipsis."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


async def reply_privately(
    interaction: discord.Interaction, content: str, *, view: discord.ui.View = discord.utils.MISSING
) -> None:
    """Send ``content`` (and ``view``) so only the member sees it, replacing any public "thinking…" placeholder."""
    content = clip(content, MAX_CONTENT)
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(content, ephemeral=True, view=view)
            return
        if interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
            # A public placeholder must not turn into an error others can read: remove it, then answer privately.
            with suppress(discord.HTTPException):
                await interaction.delete_original_response()
        await interaction.followup.send(content, ephemeral=True, view=view)
    except discord.HTTPException as exc:
        # Usually an expired interaction token; nothing more can reach the member.
        log.warning("Could not answer interaction %s privately: %s", interaction.id, exc.status)


async def explain(interaction: discord.Interaction, error: BaseException) -> None:
    """The one place that turns an error into a private answer: our own errors get their own words (and a log
    line), Discord's checks theirs, and anything else is logged with its traceback and answered generically."""
    if isinstance(error, BotError):
        log.log(
            logging.INFO if isinstance(error, UnsupportedOptionError) else logging.WARNING,
            "Interaction %s from user %s ended with %s: %s (request_id=%s)",
            interaction.id,
            interaction.user.id,
            type(error).__name__,
            error,
            getattr(error, "request_id", None),
        )
        message = error_text(error)
    elif isinstance(error, app_commands.NoPrivateMessage):
        message = text("error.guild_only")
    elif isinstance(error, app_commands.MissingPermissions):
        message = text("error.missing_permissions")
    elif isinstance(error, app_commands.TransformerError):
        message = text("error.bad_option")
    else:
        log.error("Unhandled error in interaction %s", interaction.id, exc_info=error)
        message = text("error.unexpected")
    await reply_privately(interaction, message)
