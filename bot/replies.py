"""Answering members privately, whatever state their interaction is in."""

import logging
from contextlib import suppress

import discord

log = logging.getLogger(__name__)

MAX_CONTENT = 2000


def clip(value: str, limit: int) -> str:
    """``value`` cut to at most ``limit`` characters, marking the cut with an ellipsis."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


async def reply_privately(interaction: discord.Interaction, content: str) -> None:
    """Send ``content`` so only the member sees it, replacing any public "thinking…" placeholder."""
    content = clip(content, MAX_CONTENT)
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(content, ephemeral=True)
            return
        if interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
            # A public placeholder must not turn into an error others can read: remove it, then answer privately.
            with suppress(discord.HTTPException):
                await interaction.delete_original_response()
        await interaction.followup.send(content, ephemeral=True)
    except discord.HTTPException as exc:
        # Usually an expired interaction token; nothing more can reach the member.
        log.warning("Could not answer interaction %s privately: %s", interaction.id, exc.status)
