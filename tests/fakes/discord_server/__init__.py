"""A local fake of Discord (REST API v10 and the gateway) that a real discord.py client connects to.

Point discord.py at it with ``discord.http.Route.BASE = fake.api_base_url`` (an ``AutoShardedBot`` then finds the
gateway through ``GET /gateway/bot``); also point ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` at
``fake.gateway_url``, because discord.py falls back to that constant when a reconnect fails. The fake serves one
guild (``GUILD_ID``) with one text channel (``CHANNEL_ID``) unless more are added, plays users who run slash commands,
use message commands, post messages, press buttons and submit modals, and records everything the bot does with
``time.perf_counter()`` timestamps. Files live on its CDN (``upload``), and embed images behind its media proxy
(``host_external``).

Every request body and every JSON answer is checked against Discord's published OpenAPI spec; spec violations and
protocol mistakes (a second interaction callback, an unknown route, a file reference without its part, a callback
after the 3 s deadline) land in ``contract_violations``. Waiting is event-driven: ``wait_for`` wakes whenever the fake
records something.

The modules, by role: ``state`` (the data it holds and records), ``payloads`` (Discord's JSON objects),
``components`` (component trees), ``gateway`` (the websocket), ``routing`` (REST plumbing), ``spec`` (checks
against the OpenAPI spec), ``rest`` (the routes' handlers), ``messages`` (creating and editing messages), and
``server`` (``FakeDiscord``, which serves them and plays the users).
"""

from tests.fakes.discord_server.server import FakeDiscord
from tests.fakes.discord_server.state import (
    APPLICATION_ID,
    BOT_USER_ID,
    CHANNEL_ID,
    GUILD_ID,
    Attachment,
    Callback,
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
