"""What the fake Discord holds: its guilds, the users it plays, the bot's messages and commands, the interactions it
dispatched, and everything it recorded."""

from __future__ import annotations

import asyncio
import copy
import io
import itertools
import mimetypes
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from PIL import Image

APPLICATION_ID = 1294786542135873618
BOT_USER_ID = 1294786599346176061  # older applications have a bot user id distinct from the application id
GUILD_ID = 1146109873520791562
CHANNEL_ID = 1146109874284179528
GUILD_OWNER_ID = 845123985467129876
DISCORD_EPOCH_MS = 1_420_070_400_000

# Message flags.
EPHEMERAL = 1 << 6
LOADING = 1 << 7


def _bits(*positions: int) -> int:
    return sum(1 << p for p in positions)


# create invite, add reactions, stream, view channel, send messages, embed links, attach files, read history,
# mention everyone, external emojis, connect, speak, use VAD, change nickname, use application commands,
# request to speak, create threads, external stickers, send in threads, activities, send voice messages, polls.
PLAIN_MEMBER_PERMISSIONS = _bits(
    0, 6, 9, 10, 11, 14, 15, 16, 17, 18, 20, 21, 25, 26, 31, 32, 35, 36, 37, 38, 39, 46, 49
)
APP_PERMISSIONS = PLAIN_MEMBER_PERMISSIONS | _bits(13)  # the bot's role adds manage messages
UPLOAD_LIMITS = {0: 10 * 2**20, 1: 10 * 2**20, 2: 50 * 2**20, 3: 100 * 2**20}  # bytes per file by premium tier
ACK_DEADLINE_SECONDS = 3.0


def now_iso() -> str:
    """The current time as Discord writes timestamps."""
    return datetime.now(UTC).isoformat()


@dataclass
class FakeUser:
    """A Discord user the fake plays (or the bot itself)."""

    id: int
    name: str
    global_name: str | None = None
    bot: bool = False

    def payload(self) -> dict[str, Any]:
        """The user object as Discord sends it."""
        return {
            "id": str(self.id),
            "username": self.name,
            "global_name": self.global_name,
            "discriminator": "0",
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
            "bot": self.bot,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "collectibles": None,
            "primary_guild": None,
        }


DEFAULT_USER = FakeUser(id=845123985467129999, name="tester", global_name="Tester")
BOT_USER = FakeUser(id=BOT_USER_ID, name="imagine", bot=True)


@dataclass
class Attachment:
    """An uploaded file, with its bytes."""

    id: int
    filename: str
    content_type: str | None
    data: bytes
    description: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)


@dataclass
class FakeMessage:
    """A message as the fake stores it: what the bot sent, after any edits, or what a member posted."""

    id: int
    channel_id: int
    content: str | None
    embeds: list[dict[str, Any]]
    components: list[dict[str, Any]]
    flags: int
    attachments: list[Attachment]
    allowed_mentions: dict[str, Any] | None
    interaction_id: int | None
    deleted: bool = False
    edits: int = 0
    type: int = 0
    webhook_id: int | None = None
    created_at: str = field(default_factory=now_iso)
    edited_at: str | None = None
    author: FakeUser | None = None  # the member who posted it (``FakeDiscord.post_member_message``); None: the bot

    @property
    def ephemeral(self) -> bool:
        """Whether only the invoking user sees it."""
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        """Whether it is still a deferred "thinking…" placeholder."""
        return bool(self.flags & LOADING)


@dataclass
class Callback:
    """One ``POST /interactions/{id}/{token}/callback``."""

    type: int
    data: dict[str, Any] | None
    received_at: float
    files: list[Attachment]


@dataclass
class InteractionRecord:
    """One interaction the fake dispatched and everything the bot answered to it."""

    id: int
    token: str
    type: int
    user_id: int
    dispatched_at: float
    user: FakeUser
    guild_id: int
    channel_id: int
    payload: dict[str, Any]
    callbacks: list[Callback] = field(default_factory=list)
    original: FakeMessage | None = None
    followups: list[FakeMessage] = field(default_factory=list)
    message: FakeMessage | None = None  # the message whose component was used (component interactions)
    target: FakeMessage | None = None  # the message a message command was used on (message command interactions)
    trigger_id: int | None = None  # the interaction that opened the modal (modal submits)

    @property
    def acked_at(self) -> float | None:
        """When the first callback arrived."""
        return self.callbacks[0].received_at if self.callbacks else None

    @property
    def ack_latency(self) -> float | None:
        """Seconds from dispatch to the first callback."""
        return None if self.acked_at is None else self.acked_at - self.dispatched_at

    @property
    def response_type(self) -> int | None:
        """The first callback's type."""
        return self.callbacks[0].type if self.callbacks else None

    @property
    def deferred(self) -> bool:
        """Whether the bot deferred (type 5 or 6)."""
        return self.response_type in (5, 6)

    @property
    def modal(self) -> dict[str, Any] | None:
        """The modal the bot opened in answer (type 9 callback data)."""
        return next((c.data for c in self.callbacks if c.type == 9), None)


@dataclass
class RecordedRequest:
    """One REST request the bot sent."""

    method: str
    route: str  # the spec's path template, or "" when no route matched
    path: str
    query: dict[str, str]
    json: Any  # the JSON body, or a multipart request's payload_json
    received_at: float  # time.perf_counter() when the fake's handler first saw it
    files: list[str] = field(default_factory=list)  # multipart part names of uploaded files
    status: int = 0


@dataclass
class FakeGuild:
    """A guild the bot is in, with one text channel."""

    id: int
    name: str
    channel_id: int
    bot_role_id: int
    channel_name: str = "general"
    extra_roles: dict[int, str] = field(default_factory=dict)
    age_restricted: bool = False  # whether its text channel is marked NSFW


def _image_size(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (OSError, Image.DecompressionBombError):
        return None


class DiscordState:
    """The fake's data, what it recorded, and the knobs a test turns to make Discord misbehave.

    It starts with one guild (``GUILD_ID``) and its text channel (``CHANNEL_ID``).
    """

    def __init__(self) -> None:
        self.token = "fake-bot-token"
        self.users: dict[int, FakeUser] = {}  # every member seen in an interaction
        self.member_roles: dict[tuple[int, int], list[int]] = {}  # (guild, user) -> roles they last had
        self.direct_messages: dict[int, list[FakeMessage]] = {}  # user id -> messages the bot sent them
        self.dm_channels: dict[int, int] = {}  # DM channel id -> user id
        self.forbidden_channels: set[int] = set()  # channels where the bot lacks Send Messages
        self.ack_deadline: float | None = ACK_DEADLINE_SECONDS  # None: accept late interaction callbacks
        self.failing_callbacks = 0  # this many interaction callbacks from now on are answered 503, and not applied
        # An Event here: interaction callbacks are applied at once, but their answers wait until it is set.
        self.callback_answers_held: asyncio.Event | None = None
        self.lost_callback_answers = 0  # this many are applied, but their connection drops before the answer
        self.guilds: dict[int, FakeGuild] = {}
        self.guild_premium_tier: dict[int, int] = {}
        self.identifies: list[dict[str, Any]] = []
        self.session_count = 0  # gateway sessions started (READY and GUILD_CREATE sent)
        self.resumes: list[dict[str, Any]] = []
        self.command_registrations: list[tuple[str, list[dict[str, Any]]]] = []
        self.commands: dict[str, dict[tuple[str, int], dict[str, Any]]] = {}  # scope -> (name, type) -> command
        self.interactions: dict[int, InteractionRecord] = {}
        self.by_token: dict[str, InteractionRecord] = {}  # interaction token -> its record
        self.channel_messages: dict[int, list[FakeMessage]] = {}
        self.uploads: dict[int, Attachment] = {}  # attachment id -> file, as the CDN serves them
        self.external_files: dict[str, Attachment] = {}  # external url -> file, as the media proxy serves them
        # Whether the application has the privileged Message Content intent (switched on in the developer portal).
        # Without it, a member's message fetched over REST comes with empty content, embeds, attachments and
        # components, unless it mentions the bot; the target of a message command always comes whole.
        self.message_content_intent = False
        self.requests: list[RecordedRequest] = []
        self.contract_violations: list[str] = []
        self.base_url = ""  # http://127.0.0.1:<port> once the fake is started
        self.api_base_url = ""
        self.gateway_url = ""
        self._ids = itertools.count()
        self._changed = asyncio.Condition()
        self.add_guild(GUILD_ID, name="Fake Guild", channel_id=CHANNEL_ID)

    def add_guild(
        self, guild_id: int, *, premium_tier: int = 0, name: str = "Fake Guild", channel_id: int | None = None
    ) -> FakeGuild:
        """Put the bot in another guild (before the client connects), with one text channel."""
        guild = FakeGuild(guild_id, name, channel_id or self.new_id(), self.new_id())
        self.guilds[guild_id] = guild
        self.guild_premium_tier[guild_id] = premium_tier
        return guild

    def add_role(self, role_id: int, name: str, *, guild_id: int = GUILD_ID) -> None:
        """Give a guild a plain role (before the client connects, so GUILD_CREATE carries it)."""
        self.guilds[guild_id].extra_roles[role_id] = name

    def upload(
        self, filename: str, data: bytes, content_type: str | None = None, *, description: str | None = None
    ) -> Attachment:
        """Store a file as Discord's CDN would (e.g. for an attachment option, or a member's message); its url
        serves the bytes."""
        attachment = self._file(filename, data, mimetypes.guess_type(filename)[0] or content_type, description)
        self.uploads[attachment.id] = attachment
        return attachment

    def host_external(self, url: str, data: bytes, content_type: str | None = None) -> Attachment:
        """Serve ``data`` as the file at the external ``url`` (e.g. an embed's image): Discord's media proxy then
        serves it at the embed's ``proxy_url``, and the embed gets its width and height. Urls nobody hosted are
        proxied too, but their ``proxy_url`` answers 404 (the proxy could not fetch them)."""
        filename = urlsplit(url).path.rsplit("/", 1)[-1] or "file"
        attachment = self._file(filename, data, content_type or mimetypes.guess_type(filename)[0], None)
        self.external_files[url] = attachment
        return attachment

    def _file(self, filename: str, data: bytes, content_type: str | None, description: str | None) -> Attachment:
        size = _image_size(data) if (content_type or "").startswith("image/") else None
        width, height = size or (None, None)
        return Attachment(self.new_id(), filename, content_type, data, description, width, height)

    def upload_limit(self, guild_id: int) -> int:
        """The per-file upload limit of a guild, from its premium tier."""
        return UPLOAD_LIMITS[self.guild_premium_tier.get(guild_id, 0)]

    def registered_commands(self, scope: str = "global") -> list[dict[str, Any]]:
        """The commands currently registered in ``scope`` ("global" or "guild:<id>"), with their ids."""
        return copy.deepcopy(list(self.commands.get(scope, {}).values()))

    def new_id(self, age: float = 0.0) -> int:
        """A snowflake for now, or for ``age`` seconds ago."""
        milliseconds = time.time_ns() // 1_000_000 - round(age * 1000)
        return ((milliseconds - DISCORD_EPOCH_MS) << 22) | (next(self._ids) & 0x3FFFFF)

    def violation(self, note: str) -> None:
        """Note a spec violation or protocol mistake."""
        self.contract_violations.append(note)

    def guild_of(self, channel_id: int) -> int:
        """The guild of a guild text channel."""
        guild = next((g for g in self.guilds.values() if g.channel_id == channel_id), None)
        if guild is None:
            raise LookupError(f"no channel {channel_id}")
        return guild.id

    async def notify(self) -> None:
        """Wake every ``wait_for`` to check its predicate again: something was recorded."""
        async with self._changed:
            self._changed.notify_all()
