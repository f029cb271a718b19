"""A local fake of Discord (REST API v10 and the gateway) that a real discord.py client connects to."""

from tests.fakes.discord_server.server import (
    APPLICATION_ID,
    BOT_USER_ID,
    CHANNEL_ID,
    GUILD_ID,
    Attachment,
    Callback,
    FakeDiscord,
    FakeGuild,
    FakeMessage,
    FakeUser,
    InteractionRecord,
    RecordedRequest,
)

__all__ = [
    "APPLICATION_ID",
    "BOT_USER_ID",
    "CHANNEL_ID",
    "GUILD_ID",
    "Attachment",
    "Callback",
    "FakeDiscord",
    "FakeGuild",
    "FakeMessage",
    "FakeUser",
    "InteractionRecord",
    "RecordedRequest",
]
