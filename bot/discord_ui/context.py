"""The bot's services, reached from an interaction: for buttons and modals, which have no cog to inject them.

discord.py declares component and modal callbacks for an interaction of any client, so they cannot be typed with
the bot's own class; a runtime-checkable protocol narrows the client instead of a cast.
"""

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import discord

if TYPE_CHECKING:
    from bot.app.client import Services


@runtime_checkable
class ServedClient(Protocol):
    """A client carrying the bot's services (``bot.app.client.ImagineBot``)."""

    services: "Services"


def services_of(interaction: discord.Interaction) -> "Services":
    """The services of the bot this interaction reached."""
    client = interaction.client
    if not isinstance(client, ServedClient):
        raise TypeError(f"{type(client).__name__} carries no services")
    return client.services
