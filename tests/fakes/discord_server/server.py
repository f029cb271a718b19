"""A local fake of Discord (REST API v10 and the gateway) that a real discord.py client connects to.

Point discord.py at it with ``discord.http.Route.BASE = fake.api_base_url`` (an ``AutoShardedBot`` then finds the
gateway through ``GET /gateway/bot``); also point ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` at
``fake.gateway_url``, because discord.py falls back to that constant when a reconnect fails. The fake serves one
guild (``GUILD_ID``) with one text channel (``CHANNEL_ID``) unless more are added, plays users who run slash commands,
press buttons and submit modals, and records everything the bot does with ``time.perf_counter()`` timestamps.

Every request body and every JSON answer is checked against Discord's published OpenAPI spec; spec violations and
protocol mistakes (a second interaction callback, an unknown route, a file reference without its part, a callback
after the 3 s deadline) land in ``contract_violations``. Waiting is event-driven: ``wait_for`` wakes whenever the fake
records something.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import io
import itertools
import json
import mimetypes
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from aiohttp import BodyPartReader, WSMsgType, web
from PIL import Image

from tests.fakes.contract import ApiContract, NoContract, discord_contract

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Sequence
    from types import TracebackType

APPLICATION_ID = 1294786542135873618
BOT_USER_ID = 1294786599346176061  # older applications have a bot user id distinct from the application id
GUILD_ID = 1146109873520791562
CHANNEL_ID = 1146109874284179528
GUILD_OWNER_ID = 845123985467129876
DISCORD_EPOCH_MS = 1_420_070_400_000

# Message flags.
EPHEMERAL = 1 << 6
LOADING = 1 << 7
SUPPRESS_EMBEDS = 1 << 2
SUPPRESS_NOTIFICATIONS = 1 << 12
IS_COMPONENTS_V2 = 1 << 15
_SENDABLE_FLAGS = EPHEMERAL | SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2
_EDITABLE_FLAGS = SUPPRESS_EMBEDS | IS_COMPONENTS_V2


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
HEARTBEAT_INTERVAL_MS = 41250

_OPTION_PYTHON_TYPES: dict[int, tuple[type, ...]] = {3: (str,), 4: (int,), 5: (bool,), 10: (int, float)}
_FILE_PART = re.compile(r"files\[(\d+)\]")
_ATTACHMENT_URL = re.compile(r"attachment://(\S+)")


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


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
    """A message as the fake stores it: what the bot sent, after any edits."""

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
    created_at: str = field(default_factory=_now_iso)
    edited_at: str | None = None

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
    received_at: float
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


class _Upload(NamedTuple):
    filename: str
    content_type: str | None
    data: bytes


@dataclass
class _Call:
    """What a REST handler gets."""

    params: dict[str, str]
    query: dict[str, str]
    body: Any
    uploads: dict[int, _Upload]
    received_at: float
    where: str  # "METHOD /route/template", for notes


@dataclass
class _Reply:
    status: int
    body: Any = None


class _ApiError(Exception):
    """Answer a request with a Discord error body."""

    def __init__(self, status: int, code: int, message: str, violation: str | None = None) -> None:
        super().__init__(message)
        self.reply = _Reply(status, {"message": message, "code": code})
        self.violation = violation


class _DroppedConnectionError(Exception):
    """The request was applied, but its connection is cut before any answer."""


@dataclass
class _Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Callable[[_Call], Awaitable[_Reply]]
    auth: bool


def _compile(template: str) -> re.Pattern[str]:
    parts = [f"(?P<{s[1:-1]}>[^/]+)" if s.startswith("{") else re.escape(s) for s in template.split("/")]
    return re.compile("/".join(parts))


def _children(component: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        *component.get("components", []),
        *(component[key] for key in ("accessory", "component") if key in component),
    ]


def _find_component(components: Iterable[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    """The component with ``custom_id`` anywhere in a component tree."""
    for component in components:
        if component.get("custom_id") == custom_id:
            return component
        found = _find_component(_children(component), custom_id)
        if found is not None:
            return found
    return None


def _checked_text(component: dict[str, Any], value: str) -> str:
    """``value`` if a user could submit it in the text input ``component``."""
    if not value:
        if component.get("required", True):
            raise ValueError(f"text input {component['custom_id']!r} is required")
        return value
    low, high = component.get("min_length", 0), component.get("max_length", 4000)
    if not low <= len(value) <= high:
        raise ValueError(f"text input {component['custom_id']!r} takes {low}..{high} characters, not {len(value)}")
    return value


def _checked_values(component: dict[str, Any], values: list[str]) -> list[str]:
    """``values`` if a user could pick them in the select menu ``component``."""
    options = {option["value"] for option in component.get("options", [])}
    if component["type"] == 3 and set(values) - options:
        raise ValueError(f"select {component['custom_id']!r} offers {sorted(options)}, not {values}")
    low = component.get("min_values", 1) if component.get("required", True) else 0
    high = component.get("max_values", 1)
    if not low <= len(values) <= high:
        raise ValueError(f"select {component['custom_id']!r} takes {low}..{high} values, not {len(values)}")
    return values


def _with_component_ids(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of ``components`` as Discord stores them: each one without an ``id`` gets the next free one, and a
    unicode emoji loses the ``"id": null`` discord.py sends with it."""
    tree = copy.deepcopy(components)

    def walk(nodes: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
        for node in nodes:
            yield node
            yield from walk(_children(node))

    used = {node["id"] for node in walk(tree) if "id" in node}
    free = (i for i in itertools.count(1) if i not in used)
    for node in walk(tree):
        node.setdefault("id", next(free))
        emoji = node.get("emoji")
        if isinstance(emoji, dict):
            node["emoji"] = {key: value for key, value in emoji.items() if value is not None}
    return tree


def _with_string_snowflakes(body: Any) -> Any:
    """``body`` with integer ids written as strings where discord.py sends integers.

    The spec types snowflakes as strings; Discord also accepts JSON integers, and discord.py sends them for
    attachment ids (file indices), allowed mentions, message references and a DM's recipient.
    """
    if isinstance(body, list):
        return [_with_string_snowflakes(item) for item in body]
    if not isinstance(body, dict):
        return body
    fixed = {
        key: _with_string_snowflakes(value) if key in ("data", "message") else value for key, value in body.items()
    }
    if isinstance(fixed.get("attachments"), list):
        fixed["attachments"] = [
            a | {"id": str(a["id"])} if isinstance(a, dict) and "id" in a else a for a in fixed["attachments"]
        ]
    mentions = fixed.get("allowed_mentions")
    if isinstance(mentions, dict):
        fixed["allowed_mentions"] = mentions | {
            k: [str(i) for i in mentions[k]] for k in ("users", "roles") if k in mentions
        }
    reference = fixed.get("message_reference")
    if isinstance(reference, dict):
        fixed["message_reference"] = {k: str(v) if k.endswith("_id") else v for k, v in reference.items()}
    if isinstance(fixed.get("recipient_id"), int):
        fixed["recipient_id"] = str(fixed["recipient_id"])
    if isinstance(fixed.get("sticker_ids"), list):
        fixed["sticker_ids"] = [str(i) for i in fixed["sticker_ids"]]
    return fixed


def _string_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _image_size(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (OSError, Image.DecompressionBombError):
        return None


class FakeDiscord:
    """Discord's REST API v10 and gateway on 127.0.0.1, for end-to-end tests with a real discord.py client."""

    def __init__(self, *, check_contracts: bool = True) -> None:
        self.token = "fake-bot-token"
        self.users: dict[int, FakeUser] = {}  # every member seen in an interaction
        self.member_roles: dict[tuple[int, int], list[int]] = {}  # (guild, user) -> roles they last had
        self.direct_messages: dict[int, list[FakeMessage]] = {}  # user id -> messages the bot sent them
        self._dm_channels: dict[int, int] = {}  # DM channel id -> user id
        self.forbidden_channels: set[int] = set()  # channels where the bot lacks Send Messages
        self._contract: ApiContract | NoContract = discord_contract() if check_contracts else NoContract()
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
        self.interactions: dict[int, InteractionRecord] = {}
        self.channel_messages: dict[int, list[FakeMessage]] = {}
        self.requests: list[RecordedRequest] = []
        self.contract_violations: list[str] = []
        self.api_base_url = ""
        self.gateway_url = ""
        self._base_url = ""
        self._ids = itertools.count()
        self._commands: dict[str, dict[tuple[str, int], dict[str, Any]]] = {}
        self._by_token: dict[str, InteractionRecord] = {}
        self._uploads: dict[int, Attachment] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._ws: web.WebSocketResponse | None = None
        self._send_lock = asyncio.Lock()
        self._session_id: str | None = None
        self._seq = 0
        self._dispatched: list[dict[str, Any]] = []  # this session's dispatches, for RESUME replays
        self._session_ready = False
        self._client_seq = -1  # the highest sequence the client reported in a heartbeat
        self._routes = self._build_routes()
        self.add_guild(GUILD_ID, name="Fake Guild", channel_id=CHANNEL_ID)

    # ----------------------------------------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeDiscord:
        app = web.Application(client_max_size=256 * 2**20)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._attachment)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port = site.port
        self._base_url = f"http://127.0.0.1:{port}"
        self.api_base_url = f"{self._base_url}/api/v10"
        self.gateway_url = f"ws://127.0.0.1:{port}/gateway"
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for socket in list(self._sockets):
            if not socket.closed:
                # A client that outlives the fake retries, and discord.py's last resort is the real gateway.
                self._violation("gateway: a client was still connected when the fake stopped; stop the bot first")
            await socket.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()

    def add_guild(
        self, guild_id: int, *, premium_tier: int = 0, name: str = "Fake Guild", channel_id: int | None = None
    ) -> FakeGuild:
        """Put the bot in another guild (before the client connects), with one text channel."""
        guild = FakeGuild(guild_id, name, channel_id or self._new_id(), self._new_id())
        self.guilds[guild_id] = guild
        self.guild_premium_tier[guild_id] = premium_tier
        return guild

    def add_role(self, role_id: int, name: str, *, guild_id: int = GUILD_ID) -> None:
        """Give a guild a plain role (before the client connects, so GUILD_CREATE carries it)."""
        self.guilds[guild_id].extra_roles[role_id] = name

    def upload(
        self, filename: str, data: bytes, content_type: str | None = None, *, description: str | None = None
    ) -> Attachment:
        """Store a file as Discord's CDN would (e.g. for an attachment option); its url serves the bytes."""
        content_type = mimetypes.guess_type(filename)[0] or content_type
        size = _image_size(data) if (content_type or "").startswith("image/") else None
        width, height = size or (None, None)
        attachment = Attachment(self._new_id(), filename, content_type, data, description, width, height)
        self._uploads[attachment.id] = attachment
        return attachment

    def upload_limit(self, guild_id: int) -> int:
        """The per-file upload limit of a guild, from its premium tier."""
        return UPLOAD_LIMITS[self.guild_premium_tier.get(guild_id, 0)]

    def registered_commands(self, scope: str = "global") -> list[dict[str, Any]]:
        """The commands currently registered in ``scope`` ("global" or "guild:<id>"), with their ids."""
        return copy.deepcopy(list(self._commands.get(scope, {}).values()))

    # ----------------------------------------------------------------------------------------------- waiting

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10) -> None:  # noqa: ASYNC109
        """Return once ``predicate()`` is true, re-checking it whenever the fake records something."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(predicate)
        except TimeoutError:
            name = getattr(predicate, "__qualname__", repr(predicate))
            recent = "; ".join(f"{r.method} {r.route or r.path} -> {r.status}" for r in self.requests[-5:]) or "none"
            raise TimeoutError(
                f"FakeDiscord: {name} still false after {timeout}s (session ready: {self._session_ready}, "
                f"last requests: {recent}, contract violations: {self.contract_violations or 'none'})"
            ) from None

    async def wait_for_session(self, timeout: float = 10) -> None:  # noqa: ASYNC109
        """Return once a client has identified (or resumed) and READY and GUILD_CREATE were sent."""
        await self.wait_for(lambda: self._session_ready, timeout)

    async def sync_gateway(self, timeout: float = 10) -> None:  # noqa: ASYNC109
        """Return once the client has processed every gateway frame sent so far (a heartbeat round trip)."""
        target = self._seq
        await self._send({"op": 1, "d": None, "s": None, "t": None})
        await self.wait_for(lambda: self._client_seq >= target, timeout)

    # ----------------------------------------------------------------------------------------------- users act

    async def invoke_slash(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user: FakeUser | None = None,
        guild_id: int = GUILD_ID,
        channel_id: int | None = None,
        locale: str = "en-US",
        permissions: int = PLAIN_MEMBER_PERMISSIONS,
        roles: Sequence[int] = (),
        subcommand: str | None = None,
        age: float = 0.0,
    ) -> InteractionRecord:
        """Run ``/name [subcommand] options…`` as ``user`` in a guild channel (a type 2 INTERACTION_CREATE).

        ``age`` backdates the interaction's snowflake by that many seconds, so its token is that much nearer to
        expiring (15 minutes after the snowflake's time) when the bot gets it."""
        scope, command = self._find_command(name, guild_id)
        channel_id = channel_id or self.guilds[guild_id].channel_id
        if self._guild_of(channel_id) != guild_id:
            raise ValueError(f"channel {channel_id} is not in guild {guild_id}")
        resolved: dict[str, dict[str, Any]] = {}
        option_specs = command.get("options", [])
        path = subcommand.split() if subcommand else []
        wrappers: list[tuple[int, str]] = []
        for part in path:
            spec = next((o for o in option_specs if o["name"] == part and o["type"] in (1, 2)), None)
            if spec is None:
                raise LookupError(f"/{name} has no subcommand or group {part!r}")
            wrappers.append((spec["type"], part))
            option_specs = spec.get("options", [])
        built = self._build_options(option_specs, options or {}, guild_id, resolved)
        for kind, part in reversed(wrappers):
            built = [{"type": kind, "name": part, "options": built}]
        data: dict[str, Any] = {"id": command["id"], "name": name, "type": 1, "options": built}
        if scope != "global":
            data["guild_id"] = str(guild_id)
        if resolved:
            data["resolved"] = resolved
        return await self._dispatch_interaction(
            2,
            data,
            user=user or DEFAULT_USER,
            guild_id=guild_id,
            channel_id=channel_id,
            locale=locale,
            permissions=permissions,
            roles=roles,
            age=age,
        )

    async def invoke_component(
        self,
        custom_id: str,
        message: FakeMessage,
        *,
        component_type: int | None = None,
        values: list[str] | None = None,
        user: FakeUser | None = None,
        locale: str = "en-US",
        permissions: int = PLAIN_MEMBER_PERMISSIONS,
        roles: Sequence[int] = (),
    ) -> InteractionRecord:
        """Press a button (or pick ``values`` in a select) on ``message`` (a type 3 INTERACTION_CREATE)."""
        if message.deleted:
            raise ValueError(f"message {message.id} was deleted")
        component = _find_component(message.components, custom_id)
        if component is None:
            raise LookupError(f"message {message.id} has no component {custom_id!r}")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        if component_type is not None and component_type != component["type"]:
            raise ValueError(f"component {custom_id!r} has type {component['type']}, not {component_type}")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if component["type"] in (3, 5, 6, 7, 8):
            data["values"] = _checked_values(component, values or [])
        return await self._dispatch_interaction(
            3,
            data,
            user=user or DEFAULT_USER,
            guild_id=self._guild_of(message.channel_id),
            channel_id=message.channel_id,
            locale=locale,
            permissions=permissions,
            roles=roles,
            message=message,
        )

    async def submit_modal(
        self,
        custom_id: str,
        fields: dict[str, str | list[str]],
        *,
        user: FakeUser | None = None,
        locale: str = "en-US",
        permissions: int = PLAIN_MEMBER_PERMISSIONS,
        roles: Sequence[int] = (),
    ) -> InteractionRecord:
        """Submit the modal the bot last opened with ``custom_id`` (a type 5 INTERACTION_CREATE).

        ``fields`` maps text inputs' custom ids to their values (select menus': to lists of values); the submission
        mirrors the modal's layout (action rows or labels), as Discord does.
        """
        origin = next(
            (r for r in reversed(self.interactions.values()) if (r.modal or {}).get("custom_id") == custom_id), None
        )
        if origin is None or origin.modal is None:
            raise LookupError(f"the bot never opened a modal {custom_id!r}")
        unknown = set(fields) - self._modal_inputs(origin.modal["components"])
        if unknown:
            raise ValueError(f"modal {custom_id!r} has no inputs {sorted(unknown)}")
        data = {"custom_id": custom_id, "components": self._modal_submission(origin.modal["components"], fields)}
        return await self._dispatch_interaction(
            5,
            data,
            user=user or origin.user,
            guild_id=origin.guild_id,
            channel_id=origin.channel_id,
            locale=locale,
            permissions=permissions,
            roles=roles,
            message=origin.message,
            trigger=origin,
        )

    async def disconnect_gateway(self, code: int = 4000) -> None:
        """Drop the client's websocket; discord.py then resumes the session."""
        self._session_ready = False
        if self._ws is not None:
            await self._ws.close(code=code)
        await self._notify()

    # ----------------------------------------------------------------------------------------------- ids, lookups

    def _new_id(self, age: float = 0.0) -> int:
        """A snowflake for now, or for ``age`` seconds ago."""
        milliseconds = time.time_ns() // 1_000_000 - round(age * 1000)
        return ((milliseconds - DISCORD_EPOCH_MS) << 22) | (next(self._ids) & 0x3FFFFF)

    def _violation(self, note: str) -> None:
        self.contract_violations.append(note)

    def _guild_of(self, channel_id: int) -> int:
        guild = next((g for g in self.guilds.values() if g.channel_id == channel_id), None)
        if guild is None:
            raise LookupError(f"no channel {channel_id}")
        return guild.id

    def _known_channel(self, call: _Call) -> int:
        channel_id = int(call.params["channel_id"])
        if channel_id in self._dm_channels:
            return channel_id
        if all(g.channel_id != channel_id for g in self.guilds.values()):
            raise _ApiError(404, 10003, "Unknown Channel", f"{call.where}: no channel {channel_id}")
        return channel_id

    def _find_command(self, name: str, guild_id: int) -> tuple[str, dict[str, Any]]:
        for scope in ("global", f"guild:{guild_id}"):
            command = self._commands.get(scope, {}).get((name, 1))
            if command is not None:
                return scope, command
        raise LookupError(f"no slash command /{name} registered globally or in guild {guild_id}")

    def _member(self, user: FakeUser, permissions: int, roles: Sequence[int], *, with_user: bool = True) -> dict:
        member: dict[str, Any] = {
            "roles": [str(r) for r in roles],
            "permissions": str(permissions),
            "joined_at": "2024-03-01T12:00:00.000000+00:00",
            "nick": None,
            "avatar": None,
            "banner": None,
            "premium_since": None,
            "communication_disabled_until": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
        }
        if with_user:
            member["user"] = user.payload()
        return member

    def _channel(self, guild: FakeGuild, permissions: int | None = None) -> dict[str, Any]:
        channel: dict[str, Any] = {
            "id": str(guild.channel_id),
            "type": 0,
            "guild_id": str(guild.id),
            "name": guild.channel_name,
            "position": 0,
            "parent_id": None,
            "topic": None,
            "nsfw": guild.age_restricted,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "permission_overwrites": [],
            "flags": 0,
        }
        if permissions is not None:
            channel["permissions"] = str(permissions)
        return channel

    def _roles(self, guild: FakeGuild) -> list[dict[str, Any]]:
        def role(role_id: int, name: str, permissions: int, position: int, tags: dict[str, Any]) -> dict:
            return {
                "id": str(role_id),
                "name": name,
                "permissions": str(permissions),
                "position": position,
                "color": 0,
                "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
                "hoist": False,
                "managed": bool(tags),
                "mentionable": False,
                "icon": None,
                "unicode_emoji": None,
                "flags": 0,
                "tags": tags,
            }

        return [
            role(guild.id, "@everyone", PLAIN_MEMBER_PERMISSIONS, 0, {}),
            role(guild.bot_role_id, BOT_USER.name, APP_PERMISSIONS, 1, {"bot_id": str(BOT_USER_ID)}),
            *(role(rid, name, 0, 2 + i, {}) for i, (rid, name) in enumerate(guild.extra_roles.items())),
        ]

    # ----------------------------------------------------------------------------------------------- interactions

    def _build_options(
        self, specs: list[dict[str, Any]], values: dict[str, Any], guild_id: int, resolved: dict[str, dict]
    ) -> list[dict[str, Any]]:
        known = {spec["name"]: spec for spec in specs if spec["type"] not in (1, 2)}
        unknown = set(values) - set(known)
        if unknown:
            raise ValueError(f"the command has no options {sorted(unknown)}; it has {sorted(known)}")
        missing = [n for n, spec in known.items() if spec.get("required") and n not in values]
        if missing:
            raise ValueError(f"required options {missing} missing")
        built = []
        for name, value in values.items():
            spec = known[name]
            choices = [c["value"] for c in spec.get("choices") or []]
            if choices and value not in choices:
                raise ValueError(f"option {name!r} must be one of {choices}, not {value!r}")
            built.append(
                {"name": name, "type": spec["type"], "value": self._option_value(spec, value, guild_id, resolved)}
            )
        return built

    def _option_value(self, spec: dict[str, Any], value: Any, guild_id: int, resolved: dict[str, dict]) -> Any:
        kind, guild = spec["type"], self.guilds[guild_id]
        if kind in _OPTION_PYTHON_TYPES:
            if not isinstance(value, _OPTION_PYTHON_TYPES[kind]) or (kind != 5 and isinstance(value, bool)):
                raise TypeError(f"option {spec['name']!r} (type {kind}) cannot take {value!r}")
            low, high = spec.get("min_length", 0), spec.get("max_length", 6000)
            if kind == 3 and not low <= len(value) <= high:
                # Discord's client refuses to send it; the bot never sees such an interaction.
                raise ValueError(f"option {spec['name']!r} must be {low}-{high} characters")
            return value
        if kind in (6, 9) and isinstance(value, FakeUser):
            resolved.setdefault("users", {})[str(value.id)] = value.payload()
            member = self._member(value, PLAIN_MEMBER_PERMISSIONS, (), with_user=False)
            resolved.setdefault("members", {})[str(value.id)] = member
            return str(value.id)
        if kind == 7 and value == guild.channel_id:
            resolved.setdefault("channels", {})[str(value)] = self._channel(guild, PLAIN_MEMBER_PERMISSIONS)
            return str(value)
        if kind in (8, 9) and (value in (guild.id, guild.bot_role_id) or value in guild.extra_roles):
            role = next(r for r in self._roles(guild) if r["id"] == str(value))
            resolved.setdefault("roles", {})[str(value)] = role
            return str(value)
        if kind == 11 and isinstance(value, Attachment):
            self._uploads[value.id] = value
            resolved.setdefault("attachments", {})[str(value.id)] = self._attachment_payload(value, guild.channel_id)
            return str(value.id)
        raise TypeError(f"option {spec['name']!r} (type {kind}) cannot take {value!r}")

    def _modal_inputs(self, components: list[dict[str, Any]]) -> set[str]:
        found: set[str] = set()
        for component in components:
            if "custom_id" in component:
                found.add(component["custom_id"])
            found |= self._modal_inputs(_children(component))
        return found

    def _modal_submission(self, components: list[dict[str, Any]], fields: dict[str, str | list[str]]) -> list[dict]:
        submitted: list[dict[str, Any]] = []
        for component in components:
            entry: dict[str, Any] = {"type": component["type"]}
            if "id" in component:
                entry["id"] = component["id"]
            if component["type"] == 1:
                entry["components"] = self._modal_submission(component["components"], fields)
            elif component["type"] == 18:
                entry["component"] = self._modal_submission([component["component"]], fields)[0]
            elif component["type"] == 4:
                entry["custom_id"] = component["custom_id"]
                entry["value"] = _checked_text(component, fields.get(component["custom_id"], ""))
            elif "custom_id" in component:  # select menus and other value pickers
                entry["custom_id"] = component["custom_id"]
                entry["values"] = _checked_values(component, list(fields.get(component["custom_id"], [])))
            submitted.append(entry)
        return submitted

    async def _dispatch_interaction(
        self,
        kind: int,
        data: dict[str, Any],
        *,
        user: FakeUser,
        guild_id: int,
        channel_id: int,
        locale: str,
        permissions: int,
        roles: Sequence[int],
        message: FakeMessage | None = None,
        trigger: InteractionRecord | None = None,
        age: float = 0.0,
    ) -> InteractionRecord:
        if not self._session_ready:
            raise RuntimeError("no discord.py client has a gateway session; await wait_for_session() first")
        guild = self.guilds[guild_id]
        self.users[user.id] = user
        self.member_roles[(guild_id, user.id)] = list(roles)
        interaction_id = self._new_id(age)
        token = base64.urlsafe_b64encode(f"interaction:{interaction_id}:{secrets.token_urlsafe(96)}".encode())
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(APPLICATION_ID),
            "type": kind,
            "data": data,
            "guild_id": str(guild_id),
            "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
            "channel_id": str(channel_id),
            "channel": self._channel(guild, permissions),
            "member": self._member(user, permissions, roles),
            "token": token.decode().rstrip("="),
            "version": 1,
            "locale": locale,
            "guild_locale": "en-US",
            "app_permissions": str(APP_PERMISSIONS),
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild_id)},
            "context": 0,
            "attachment_size_limit": self.upload_limit(guild_id),
        }
        if message is not None:
            payload["message"] = self.message_payload(message)
        record = InteractionRecord(
            id=interaction_id,
            token=payload["token"],
            type=kind,
            user_id=user.id,
            dispatched_at=time.perf_counter(),
            user=user,
            guild_id=guild_id,
            channel_id=channel_id,
            payload=payload,
            message=message,
            trigger_id=trigger.id if trigger else None,
        )
        self.interactions[interaction_id] = record
        self._by_token[record.token] = record
        record.dispatched_at = await self._dispatch("INTERACTION_CREATE", payload)
        await self._notify()
        return record

    # ----------------------------------------------------------------------------------------------- gateway

    async def _send(self, frame: dict[str, Any], socket: web.WebSocketResponse | None = None) -> None:
        target = socket or self._ws
        if target is None or target.closed:
            raise RuntimeError("no discord.py client is connected to the gateway")
        await target.send_str(json.dumps(frame))

    async def _dispatch(self, event: str, data: dict[str, Any], socket: web.WebSocketResponse | None = None) -> float:
        """Send one gateway event; returns when it was sent (``time.perf_counter()``)."""
        async with self._send_lock:
            # A cooperative yield, not synchronisation: one event per turn of the event loop, so a burst of events
            # does not keep this loop from handling what the client sends meanwhile (requests are stamped then).
            await asyncio.sleep(0)
            self._seq += 1
            frame = {"op": 0, "s": self._seq, "t": event, "d": data}
            self._dispatched.append(frame)
            sent_at = time.perf_counter()  # before sending: the send may wait for the socket, and a reply with it
            await self._send(frame, socket)
            return sent_at

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        if request.query.get("v") != "10" or request.query.get("encoding") != "json":
            self._violation(f"gateway: connected with {dict(request.query)}, expected v=10 and encoding=json")
        self._sockets.add(socket)
        try:
            await self._send(
                {"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}, "s": None, "t": None}, socket
            )
            async for frame in socket:
                if frame.type is WSMsgType.TEXT:
                    await self._on_frame(socket, json.loads(frame.data))
                else:
                    self._violation(f"gateway: unexpected {frame.type.name} frame from the client")
        finally:
            self._sockets.discard(socket)
            if socket is self._ws:
                self._ws = None
                self._session_ready = False
            await self._notify()
        return socket

    async def _on_frame(self, socket: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        op, data = frame.get("op"), frame.get("d")
        if op == 1:
            if socket is self._ws and isinstance(data, int):
                self._client_seq = max(self._client_seq, data)
            await self._send({"op": 11, "d": None, "s": None, "t": None}, socket)
        elif op == 2:
            await self._identify(socket, data)
        elif op == 6:
            await self._resume(socket, data)
        elif op not in (3, 4, 8, 31):  # presence, voice state, request members, request soundboard sounds
            self._violation(f"gateway: unknown opcode {op}")
            await socket.close(code=4001)
        await self._notify()

    async def _identify(self, socket: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if data.get("token") != self.token:
            self._violation("gateway: IDENTIFY with a wrong token")
            await socket.close(code=4004)
            return
        if "intents" not in data:
            self._violation("gateway: IDENTIFY without intents (required in v10)")
        self.identifies.append({**data, "token": "<redacted>"})
        shard_id, shard_count = data.get("shard", [0, 1])
        self._ws, self._session_id, self._seq, self._dispatched = socket, secrets.token_hex(16), 0, []
        self._client_seq = -1
        guilds = [g for g in self.guilds.values() if (g.id >> 22) % shard_count == shard_id]
        ready = {
            "v": 10,
            "user": {**BOT_USER.payload(), "verified": True, "mfa_enabled": False, "email": None},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": self._session_id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "shard": [shard_id, shard_count],
            "application": {"id": str(APPLICATION_ID), "flags": self._application()["flags"]},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": ["fake"],
        }
        await self._dispatch("READY", ready, socket)
        for guild in guilds:
            await self._dispatch("GUILD_CREATE", self._guild_create(guild), socket)
        self.session_count += 1
        self._session_ready = True

    async def _resume(self, socket: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if data.get("token") != self.token:
            self._violation("gateway: RESUME with a wrong token")
            await socket.close(code=4004)
            return
        self.resumes.append({**data, "token": "<redacted>"})
        if data.get("session_id") != self._session_id:
            # Discord would invalidate the session, and discord.py would then reconnect to the real gateway.
            self._violation(f"gateway: RESUME of unknown session {data.get('session_id')!r}")
        self._ws = socket
        async with self._send_lock:
            for frame in self._dispatched:
                if frame["s"] > (data.get("seq") or 0):
                    await self._send(frame, socket)
        await self._dispatch("RESUMED", {}, socket)
        self._session_ready = True

    def _guild_create(self, guild: FakeGuild) -> dict[str, Any]:
        tier = self.guild_premium_tier.get(guild.id, 0)
        bot_member = self._member(BOT_USER, APP_PERMISSIONS, [guild.bot_role_id])
        del bot_member["permissions"]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(GUILD_OWNER_ID),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "mfa_level": 0,
            "nsfw_level": 0,
            "nsfw": guild.age_restricted,
            "premium_tier": tier,
            "premium_subscription_count": (0, 2, 7, 14)[tier],
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "vanity_url_code": None,
            "application_id": None,
            "max_members": 500000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "features": [],
            "roles": self._roles(guild),
            "emojis": [],
            "stickers": [],
            "channels": [self._channel(guild)],
            "threads": [],
            "members": [bot_member],
            "member_count": 2,
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "embedded_activities": [],
            "incidents_data": None,
            "joined_at": "2024-03-01T12:00:00.000000+00:00",
            "large": False,
            "lazy": True,
            "unavailable": False,
        }

    # ----------------------------------------------------------------------------------------------- REST plumbing

    def _build_routes(self) -> list[_Route]:
        table: list[tuple[str, str, Callable[[_Call], Awaitable[_Reply]], bool]] = [
            ("GET", "/users/@me", self._get_me, True),
            ("POST", "/users/@me/channels", self._open_dm, True),
            ("GET", "/users/{user_id}", self._get_user, True),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member, True),
            ("GET", "/oauth2/applications/@me", self._get_application, True),
            ("GET", "/gateway/bot", self._get_gateway_bot, True),
            ("GET", "/applications/{application_id}/commands", self._get_commands, True),
            ("PUT", "/applications/{application_id}/commands", self._put_commands, True),
            ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", self._get_commands, True),
            ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", self._put_commands, True),
            ("POST", "/interactions/{interaction_id}/{interaction_token}/callback", self._post_callback, False),
            ("POST", "/webhooks/{webhook_id}/{webhook_token}", self._post_followup, False),
        ]
        for message in ("@original", "{message_id}"):
            template = "/webhooks/{webhook_id}/{webhook_token}/messages/" + message
            table += [
                ("GET", template, self._get_webhook_message, False),
                ("PATCH", template, self._patch_webhook_message, False),
                ("DELETE", template, self._delete_webhook_message, False),
            ]
        table += [
            ("POST", "/channels/{channel_id}/messages", self._post_channel_message, True),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._get_channel_message, True),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._patch_channel_message, True),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_channel_message, True),
        ]
        paths = discord_contract().document["paths"]
        missing = [template for _, template, _, _ in table if template not in paths]
        if missing:
            raise KeyError(f"Discord's spec has no routes {missing}")
        return [_Route(method, t, _compile(t), handler, auth) for method, t, handler, auth in table]

    def _operation(self, method: str, template: str) -> dict[str, Any]:
        return discord_contract().document["paths"][template][method.lower()]

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        received_at = time.perf_counter()  # the clock of dispatched_at
        path = "/" + request.match_info["tail"]
        matches = [(r, m) for r in self._routes if (m := r.pattern.fullmatch(path))]
        route, match = next(((r, m) for r, m in matches if r.method == request.method), (None, None))
        recorded = RecordedRequest(
            request.method, route.template if route else "", path, dict(request.query), None, received_at
        )
        self.requests.append(recorded)
        try:
            if route is None or match is None:
                status, message = (405, "405: Method Not Allowed") if matches else (404, "404: Not Found")
                raise _ApiError(status, 0, message, f"{request.method} {path}: the fake serves no such route")
            if route.auth and request.headers.get("Authorization") != f"Bot {self.token}":
                raise _ApiError(401, 0, "401: Unauthorized")
            call = await self._read_call(request, route, match.groupdict(), received_at)
            recorded.json = call.body
            recorded.files = [f"files[{i}]" for i in call.uploads]
            reply = await route.handler(call)
        except _DroppedConnectionError:
            await self._notify()
            if request.transport is not None:
                request.transport.abort()
            raise
        except _ApiError as error:
            if error.violation:
                self._violation(error.violation)
            reply = error.reply
        except (KeyError, TypeError, ValueError, AttributeError) as error:  # a body the spec check already flagged
            self._violation(f"{request.method} {route.template if route else path}: malformed request ({error!r})")
            reply = _Reply(400, {"message": "Invalid Form Body", "code": 50035})
        recorded.status = reply.status
        if route is not None:
            self._check_response(route, reply)
        await self._notify()
        if reply.body is None:
            return web.Response(status=reply.status)
        return web.Response(status=reply.status, body=_dump(reply.body), headers={"Content-Type": "application/json"})

    async def _read_call(self, request: web.Request, route: _Route, params: dict[str, str], at: float) -> _Call:
        where = f"{route.method} {route.template}"
        operation = self._operation(route.method, route.template)
        self._check_query(where, operation, request.query)
        body: Any = None
        uploads: dict[int, _Upload] = {}
        multipart = request.content_type == "multipart/form-data"
        if multipart:
            body, uploads = await self._read_multipart(request, where)
        elif request.body_exists:
            raw = await request.read()
            try:
                body = json.loads(raw)
            except ValueError:
                raise _ApiError(
                    400, 50109, "The request body contains invalid JSON.", f"{where}: invalid JSON"
                ) from None
            if request.content_type != "application/json":
                self._violation(f"{where}: JSON body sent as {request.content_type!r}")
        self._check_request(where, operation, body, "multipart/form-data" if multipart else "application/json")
        return _Call(params, dict(request.query), body, uploads, at, where)

    async def _read_multipart(self, request: web.Request, where: str) -> tuple[Any, dict[int, _Upload]]:
        body: Any = None
        uploads: dict[int, _Upload] = {}
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                self._violation(f"{where}: nested multipart body")
                continue
            name = part.name or ""
            if name == "payload_json":
                body = json.loads(await part.text())
            elif index := _FILE_PART.fullmatch(name):
                content_type = part.headers.get("Content-Type")
                uploads[int(index.group(1))] = _Upload(part.filename or name, content_type, await part.read())
            else:
                self._violation(f"{where}: unexpected multipart part {name!r}")
        if body is None:
            self._violation(f"{where}: multipart request without payload_json")
        return body, uploads

    def _check_query(self, where: str, operation: dict[str, Any], query: Any) -> None:
        params = {p["name"]: p.get("schema", {}) for p in operation.get("parameters", []) if p.get("in") == "query"}
        for name, value in query.items():
            if name not in params:
                self._violation(f"{where}: unknown query parameter {name}={value!r}")
            elif params[name].get("type") == "boolean" and value.lower() not in ("true", "false", "1", "0"):
                self._violation(f"{where}: query parameter {name}={value!r} is not a boolean")

    def _check_request(self, where: str, operation: dict[str, Any], body: Any, content_type: str) -> None:
        spec_body = operation.get("requestBody")
        if spec_body is None:
            if body is not None:
                self._violation(f"{where}: the spec takes no request body")
            return
        if body is None:
            if spec_body.get("required"):
                self._violation(f"{where}: request body missing")
            return
        if content_type not in spec_body["content"]:
            self._violation(f"{where}: the spec takes no {content_type} body")
            return
        method, template = where.split(" ", 1)
        for error in self._contract.request_errors(method, template, _with_string_snowflakes(body), content_type):
            self._violation(f"{where}: request: {error}")

    def _check_response(self, route: _Route, reply: _Reply) -> None:
        where = f"{route.method} {route.template}"
        contract = self._contract
        if reply.status >= 400:
            errors = contract.schema_errors("ErrorResponse", reply.body)
        else:
            answer = self._operation(route.method, route.template)["responses"].get(str(reply.status))
            has_json = answer is not None and "application/json" in answer.get("content", {})
            if answer is None or has_json != (reply.body is not None):
                self._violation(f"{where}: fake answered {reply.status} {'with' if reply.body else 'without'} a body")
                return
            errors = (
                contract.response_errors(route.method, route.template, reply.status, reply.body) if has_json else []
            )
        self.contract_violations.extend(f"{where}: fake's response: {error}" for error in errors)

    async def _attachment(self, request: web.Request) -> web.Response:
        attachment_id = request.match_info["attachment_id"]
        attachment = self._uploads.get(int(attachment_id)) if attachment_id.isdigit() else None
        if attachment is None:
            raise web.HTTPNotFound
        return web.Response(body=attachment.data, content_type=attachment.content_type or "application/octet-stream")

    # ----------------------------------------------------------------------------------------------- payloads

    def _application(self) -> dict[str, Any]:
        owner = FakeUser(GUILD_OWNER_ID, "owner", "Owner").payload()
        flags = 1 << 23  # APPLICATION_COMMAND_BADGE
        return {
            "id": str(APPLICATION_ID),
            "name": BOT_USER.name,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot": BOT_USER.payload(),
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "6b0c5cd4f3a0a0c4c4ab0c3fd1c0b3b7d4f1a1a9e2c9a3e9c6f5b0c3a7d2e1f0",
            "flags": flags,
            "flags_new": str(flags),
            "tags": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "event_webhooks_url": None,
            "owner": owner,
            "approximate_guild_count": len(self.guilds),
            "approximate_user_install_count": 0,
            "approximate_user_authorization_count": 0,
            "explicit_content_filter": 0,
            "team": None,
            "eligible_oauth2_scopes": [],
        }

    def _attachment_payload(self, attachment: Attachment, channel_id: int, *, ephemeral: bool = False) -> dict:
        url = f"{self._base_url}/attachments/{channel_id}/{attachment.id}/{attachment.filename}"
        payload: dict[str, Any] = {
            "id": str(attachment.id),
            "filename": attachment.filename,
            "size": attachment.size,
            "url": url,
            "proxy_url": url,
        }
        if attachment.content_type:
            payload["content_type"] = attachment.content_type
        if attachment.width is not None:
            payload |= {"width": attachment.width, "height": attachment.height}
        if attachment.description is not None:
            payload["description"] = attachment.description
        if ephemeral:
            payload["ephemeral"] = True
        return payload

    def _embed_payload(self, embed: dict[str, Any], by_name: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """An embed as Discord echoes it: typed, with ``attachment://`` images pointing at the uploaded files."""
        echoed = {"type": "rich", **copy.deepcopy(embed)}
        for key in ("image", "thumbnail"):
            media = echoed.get(key)
            name = _ATTACHMENT_URL.fullmatch(media.get("url", "")) if media else None
            if media and name and name.group(1) in by_name:
                uploaded = by_name[name.group(1)]
                media |= {"url": uploaded["url"], "proxy_url": uploaded["proxy_url"]}
                media |= {k: uploaded[k] for k in ("width", "height", "content_type") if k in uploaded}
        return echoed

    def message_payload(self, message: FakeMessage) -> dict[str, Any]:
        """``message`` as Discord's API returns it."""
        attachments = [
            self._attachment_payload(a, message.channel_id, ephemeral=message.ephemeral) for a in message.attachments
        ]
        by_name = {a["filename"]: a for a in attachments}
        payload: dict[str, Any] = {
            "id": str(message.id),
            "channel_id": str(message.channel_id),
            "type": message.type,
            "content": message.content or "",
            "author": BOT_USER.payload(),
            "embeds": [self._embed_payload(e, by_name) for e in message.embeds],
            "attachments": attachments,
            "components": copy.deepcopy(message.components),
            "flags": message.flags,
            "timestamp": message.created_at,
            "edited_timestamp": message.edited_at,
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
        }
        if message.webhook_id is not None:
            payload |= {"webhook_id": str(message.webhook_id), "application_id": str(APPLICATION_ID)}
        record = self.interactions.get(message.interaction_id or 0)
        if record is not None:
            payload["interaction_metadata"] = metadata = self._interaction_metadata(record)
            if record.original is not None and record.original is not message:
                metadata["original_response_message_id"] = str(record.original.id)
        return payload

    def _interaction_metadata(self, record: InteractionRecord) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "id": str(record.id),
            "type": record.type,
            "user": record.user.payload(),
            "authorizing_integration_owners": {"0": str(record.guild_id)},
        }
        if record.message is not None and record.type == 3:
            metadata["interacted_message_id"] = str(record.message.id)
        trigger = self.interactions.get(record.trigger_id or 0)
        if trigger is not None:
            metadata["triggering_interaction_metadata"] = self._interaction_metadata(trigger)
        return metadata

    # ----------------------------------------------------------------------------------------------- messages

    def _attachments(
        self, call: _Call, body: dict[str, Any], keep: Sequence[Attachment], guild_id: int
    ) -> tuple[list[Attachment], list[Attachment]]:
        """(the message's attachments after this request, the newly uploaded ones), as Discord resolves them."""
        where, uploads = call.where, call.uploads
        existing = {a.id: a for a in keep}
        entries = body.get("attachments")
        if entries is None:
            entries = [{"id": index} for index in uploads] if uploads else [{"id": a.id} for a in keep]
        result: list[Attachment] = []
        new: list[Attachment] = []
        used: set[int] = set()
        for position, entry in enumerate(entries):
            ref = int(entry["id"])
            if ref in existing:
                result.append(existing[ref])
                continue
            upload = uploads.get(ref)
            if upload is None:
                note = f"{where}: attachments[{position}].id={ref} matches no files[{ref}] part nor a kept attachment"
                raise _ApiError(400, 50035, "Invalid Form Body", note)
            used.add(ref)
            if len(upload.data) > self.upload_limit(guild_id):
                note = (
                    f"{where}: files[{ref}] is {len(upload.data)} bytes, over the guild's {self.upload_limit(guild_id)}"
                )
                raise _ApiError(413, 40005, "Request entity too large", note)
            filename = entry.get("filename") or upload.filename
            attachment = self.upload(filename, upload.data, upload.content_type, description=entry.get("description"))
            result.append(attachment)
            new.append(attachment)
        for index in sorted(set(uploads) - used):
            self._violation(f"{where}: files[{index}] is not listed in payload_json's attachments")
        return result, new

    def _check_embed_references(self, message: FakeMessage, where: str) -> None:
        names = {a.filename for a in message.attachments}
        for embed in message.embeds:
            for key in ("image", "thumbnail"):
                match = _ATTACHMENT_URL.fullmatch((embed.get(key) or {}).get("url", ""))
                if match and match.group(1) not in names:
                    self._violation(f"{where}: embed {key} {match.group(0)} names no attachment of the message")

    def _new_message(
        self, call: _Call, body: dict[str, Any], channel_id: int, *, interaction: InteractionRecord | None
    ) -> tuple[FakeMessage, list[Attachment]]:
        # Direct messages get the upload limit of a server without boosts.
        limit_guild = 0 if channel_id in self._dm_channels else self._guild_of(channel_id)
        attachments, new = self._attachments(call, body, (), limit_guild)
        if not (body.get("content") or body.get("embeds") or body.get("components") or attachments or body.get("poll")):
            raise _ApiError(400, 50006, "Cannot send an empty message", f"{call.where}: empty message")
        message = FakeMessage(
            id=self._new_id(),
            channel_id=channel_id,
            content=body.get("content"),
            embeds=list(body.get("embeds") or []),
            components=_with_component_ids(body.get("components") or []),
            flags=int(body.get("flags") or 0) & _SENDABLE_FLAGS,
            attachments=attachments,
            allowed_mentions=body.get("allowed_mentions"),
            interaction_id=interaction.id if interaction else None,
            webhook_id=APPLICATION_ID if interaction else None,
        )
        self._check_embed_references(message, call.where)
        self.channel_messages.setdefault(channel_id, []).append(message)
        if channel_id in self._dm_channels:
            self.direct_messages.setdefault(self._dm_channels[channel_id], []).append(message)
        return message, new

    def _edit(self, message: FakeMessage, call: _Call, body: dict[str, Any]) -> list[Attachment]:
        """Apply an edit (PATCH or UPDATE_MESSAGE callback) to ``message``; returns newly uploaded files."""
        guild_id = self._guild_of(message.channel_id)
        message.attachments, new = self._attachments(call, body, message.attachments, guild_id)
        if "content" in body:
            message.content = body["content"]
        if "embeds" in body:
            message.embeds = list(body["embeds"] or [])
        if "components" in body:
            message.components = _with_component_ids(body["components"] or [])
        if "allowed_mentions" in body:
            message.allowed_mentions = body["allowed_mentions"]
        if body.get("flags") is not None:
            message.flags = (message.flags & ~_EDITABLE_FLAGS) | (int(body["flags"]) & _EDITABLE_FLAGS)
        if not message.loading:
            message.edited_at = _now_iso()
        message.flags &= ~LOADING
        message.edits += 1
        self._check_embed_references(message, call.where)
        return new

    # ----------------------------------------------------------------------------------------------- REST routes

    async def _get_user(self, call: _Call) -> _Reply:
        user = self.users.get(int(call.params["user_id"]))
        if user is None:
            raise _ApiError(404, 10013, "Unknown User")
        return _Reply(200, user.payload())

    async def _get_member(self, call: _Call) -> _Reply:
        key = (int(call.params["guild_id"]), int(call.params["user_id"]))
        if key not in self.member_roles:
            raise _ApiError(404, 10007, "Unknown Member")
        return _Reply(200, self._member(self.users[key[1]], PLAIN_MEMBER_PERMISSIONS, self.member_roles[key]))

    async def _open_dm(self, call: _Call) -> _Reply:
        user = self.users.get(int((call.body or {}).get("recipient_id", 0)))
        if user is None:
            raise _ApiError(400, 50007, "Cannot send messages to this user")
        channel_id = next((cid for cid, uid in self._dm_channels.items() if uid == user.id), None) or self._new_id()
        self._dm_channels[channel_id] = user.id
        return _Reply(
            200,
            {"id": str(channel_id), "type": 1, "last_message_id": None, "flags": 0, "recipients": [user.payload()]},
        )

    async def _get_me(self, call: _Call) -> _Reply:
        return _Reply(
            200, {**BOT_USER.payload(), "mfa_enabled": False, "locale": "en-US", "verified": True, "email": None}
        )

    async def _get_application(self, call: _Call) -> _Reply:
        return _Reply(200, self._application())

    async def _get_gateway_bot(self, call: _Call) -> _Reply:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return _Reply(200, {"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    def _scope(self, call: _Call) -> str:
        if call.params["application_id"] != str(APPLICATION_ID):
            note = f"{call.where}: application {call.params['application_id']} is not this bot's"
            raise _ApiError(403, 50001, "Missing Access", note)
        guild_id = call.params.get("guild_id")
        if guild_id is None:
            return "global"
        if int(guild_id) not in self.guilds:
            raise _ApiError(403, 50001, "Missing Access", f"{call.where}: the bot is not in guild {guild_id}")
        return f"guild:{guild_id}"

    async def _get_commands(self, call: _Call) -> _Reply:
        return _Reply(200, self.registered_commands(self._scope(call)))

    async def _put_commands(self, call: _Call) -> _Reply:
        scope = self._scope(call)
        payload: list[dict[str, Any]] = call.body or []
        keys = [(c["name"], c.get("type", 1)) for c in payload]
        if len(set(keys)) != len(keys):
            raise _ApiError(400, 50035, "Invalid Form Body", f"{call.where}: duplicate command names")
        self.command_registrations.append((scope, copy.deepcopy(payload)))
        before = self._commands.get(scope, {})
        after: dict[tuple[str, int], dict[str, Any]] = {}
        for key, command in zip(keys, payload, strict=True):
            echoed = {
                "type": key[1],
                "name": command["name"],
                "description": command.get("description", ""),
                # discord.py sends the permission bits as a number; Discord answers with a string, as its spec says.
                "default_member_permissions": _string_or_none(command.get("default_member_permissions")),
                "nsfw": command.get("nsfw", False),
                "contexts": command.get("contexts"),
                "integration_types": command.get("integration_types") or [0],
                **{
                    k: command[k]
                    for k in ("options", "name_localizations", "description_localizations")
                    if k in command
                },
            }
            if scope != "global":
                echoed["guild_id"] = scope.removeprefix("guild:")
            old = before.get(key)
            unchanged = old is not None and {k: old.get(k) for k in echoed} == echoed
            echoed |= {
                "id": old["id"] if old else str(self._new_id()),
                "application_id": str(APPLICATION_ID),
                "version": old["version"] if old and unchanged else str(self._new_id()),
            }
            after[key] = echoed
        self._commands[scope] = after
        return _Reply(200, self.registered_commands(scope))

    def _record_for(self, call: _Call) -> InteractionRecord:
        record = self._by_token.get(call.params["webhook_token"])
        if record is None or call.params["webhook_id"] != str(APPLICATION_ID):
            raise _ApiError(404, 10015, "Unknown Webhook", f"{call.where}: unknown webhook id or interaction token")
        if not record.callbacks:
            raise _ApiError(404, 10015, "Unknown Webhook", f"{call.where}: the interaction was never acknowledged")
        return record

    async def _post_callback(self, call: _Call) -> _Reply:
        where = call.where
        record = self.interactions.get(int(call.params["interaction_id"]))
        if record is None or record.token != call.params["interaction_token"]:
            raise _ApiError(404, 10062, "Unknown interaction", f"{where}: unknown interaction or token")
        if self.failing_callbacks:
            self.failing_callbacks -= 1
            raise _ApiError(503, 0, "upstream connect error")
        if record.callbacks:
            note = f"{where}: second callback for interaction {record.id} (Discord answers 40060)"
            raise _ApiError(400, 40060, "Interaction has already been acknowledged.", note)
        late = call.received_at - record.dispatched_at
        if self.ack_deadline is not None and late > self.ack_deadline:
            note = f"{where}: interaction {record.id} answered after {late:.2f}s (over {self.ack_deadline}s)"
            raise _ApiError(404, 10062, "Unknown interaction", note)
        body: dict[str, Any] = call.body or {}
        kind, data = body.get("type"), body.get("data")
        allowed = {2: (4, 5, 9), 3: (4, 5, 6, 7, 9), 5: (4, 5, 6, 7) if record.message else (4, 5)}[record.type]
        if kind not in allowed:
            note = f"{where}: callback type {kind} is not valid for interaction type {record.type}"
            raise _ApiError(400, 50035, "Invalid Form Body", note)
        callback = Callback(kind, data, call.received_at, [])
        info: dict[str, Any] = {"id": str(record.id), "type": record.type}
        resource: dict[str, Any] | None = None
        if kind in (4, 5):
            message = self._response_message(call, record, callback, data or {})
            info |= {
                "response_message_id": str(message.id),
                "response_message_loading": kind == 5,
                "response_message_ephemeral": message.ephemeral,
            }
            if kind == 4:
                resource = {"type": 4, "message": self.message_payload(message)}
        elif kind in (6, 7) and record.message is not None:
            record.original = record.message
            if kind == 7:
                callback.files = self._edit(record.message, call, data or {})
                info["response_message_id"] = str(record.message.id)
                resource = {"type": 7, "message": self.message_payload(record.message)}
        record.callbacks.append(callback)
        if self.callback_answers_held is not None:  # applied; the answer is still on its way back
            await self._notify()
            await self.callback_answers_held.wait()
        if self.lost_callback_answers:
            self.lost_callback_answers -= 1
            raise _DroppedConnectionError
        if call.query.get("with_response", "false").lower() not in ("true", "1"):
            return _Reply(204, None)
        return _Reply(200, {"interaction": info} | ({"resource": resource} if resource else {}))

    def _response_message(
        self, call: _Call, record: InteractionRecord, callback: Callback, data: dict[str, Any]
    ) -> FakeMessage:
        """The message a type 4 callback creates, or the loading placeholder of a type 5 one."""
        if callback.type == 4:
            message, callback.files = self._new_message(call, data, record.channel_id, interaction=record)
        else:
            message = self._placeholder(record, LOADING | (int(data.get("flags") or 0) & EPHEMERAL))
        message.type = 20 if record.type == 2 else 0
        record.original = message
        return message

    def _placeholder(self, record: InteractionRecord, flags: int) -> FakeMessage:
        message = FakeMessage(
            id=self._new_id(),
            channel_id=record.channel_id,
            content="",
            embeds=[],
            components=[],
            flags=flags,
            attachments=[],
            allowed_mentions=None,
            interaction_id=record.id,
            webhook_id=APPLICATION_ID,
        )
        self.channel_messages.setdefault(record.channel_id, []).append(message)
        return message

    async def _post_followup(self, call: _Call) -> _Reply:
        record = self._record_for(call)
        body: dict[str, Any] = call.body or {}
        original = record.original
        if original is not None and original.loading and not original.deleted and record.response_type == 5:
            # Discord treats the first followup after a "thinking" defer as resolving the placeholder; the
            # ephemeral flag stays as the defer chose.
            self._edit(original, call, {k: v for k, v in body.items() if k != "flags"})
            message = original
        else:
            message, _ = self._new_message(call, body, record.channel_id, interaction=record)
            record.followups.append(message)
        wait = call.query.get("wait", "false").lower() in ("true", "1")
        return _Reply(200, self.message_payload(message)) if wait else _Reply(204)

    def _webhook_message(self, call: _Call) -> FakeMessage:
        record = self._record_for(call)
        wanted = call.params.get("message_id", "@original")
        if wanted == "@original":
            message = record.original
        else:
            candidates = [record.original, *record.followups]
            message = next((m for m in candidates if m is not None and str(m.id) == wanted), None)
        if message is None or message.deleted:
            note = f"{call.where}: no message {wanted} for this interaction"
            raise _ApiError(404, 10008, "Unknown Message", note)
        return message

    async def _get_webhook_message(self, call: _Call) -> _Reply:
        return _Reply(200, self.message_payload(self._webhook_message(call)))

    async def _patch_webhook_message(self, call: _Call) -> _Reply:
        message = self._webhook_message(call)
        self._edit(message, call, call.body or {})
        return _Reply(200, self.message_payload(message))

    async def _delete_webhook_message(self, call: _Call) -> _Reply:
        self._webhook_message(call).deleted = True
        return _Reply(204)

    def _channel_message(self, call: _Call) -> FakeMessage:
        channel_id = self._known_channel(call)
        wanted = int(call.params["message_id"])
        message = next((m for m in self.channel_messages.get(channel_id, []) if m.id == wanted), None)
        if message is None or message.deleted or message.ephemeral:
            note = f"{call.where}: no message {wanted} in channel {channel_id}"
            raise _ApiError(404, 10008, "Unknown Message", note)
        return message

    async def _post_channel_message(self, call: _Call) -> _Reply:
        if int(call.params["channel_id"]) in self.forbidden_channels:
            raise _ApiError(403, 50013, "Missing Permissions")
        message, _ = self._new_message(call, call.body or {}, self._known_channel(call), interaction=None)
        return _Reply(200, self.message_payload(message))

    async def _get_channel_message(self, call: _Call) -> _Reply:
        return _Reply(200, self.message_payload(self._channel_message(call)))

    async def _patch_channel_message(self, call: _Call) -> _Reply:
        message = self._channel_message(call)
        if message.webhook_id is not None:
            note = f"{call.where}: interaction messages are edited through the webhook routes"
            raise _ApiError(403, 50005, "Cannot edit a message authored by another user", note)
        self._edit(message, call, call.body or {})
        return _Reply(200, self.message_payload(message))

    async def _delete_channel_message(self, call: _Call) -> _Reply:
        self._channel_message(call).deleted = True
        return _Reply(204)
