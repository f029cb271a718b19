"""``FakeDiscord``: the fake's state served on 127.0.0.1 (REST, gateway, CDN, media proxy), and the users it
plays."""

from __future__ import annotations

import asyncio
import base64
import copy
import secrets
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes.contract import NoContract, discord_contract
from tests.fakes.discord_server import components, payloads
from tests.fakes.discord_server.gateway import Gateway
from tests.fakes.discord_server.rest import Routes
from tests.fakes.discord_server.routing import Router
from tests.fakes.discord_server.spec import SpecChecks
from tests.fakes.discord_server.state import (
    APP_PERMISSIONS,
    APPLICATION_ID,
    BOT_USER_ID,
    CHANNEL_ID,
    DEFAULT_USER,
    GUILD_ID,
    PLAIN_MEMBER_PERMISSIONS,
    Attachment,
    DiscordState,
    FakeMessage,
    FakeUser,
    InteractionRecord,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import TracebackType

_OPTION_PYTHON_TYPES: dict[int, tuple[type, ...]] = {3: (str,), 4: (int,), 5: (bool,), 10: (int, float)}
_COMMAND_KINDS = {1: "slash", 2: "user", 3: "message"}


class FakeDiscord(DiscordState):
    """Discord's REST API v10 and gateway on 127.0.0.1, for end-to-end tests with a real discord.py client."""

    def __init__(self, *, check_contracts: bool = True) -> None:
        super().__init__()
        contract = discord_contract() if check_contracts else NoContract()
        self._gateway = Gateway(self)
        self._checks = SpecChecks(contract, self.violation)
        self._router = Router(self, self._checks, Routes(self).table())
        self._runner: web.AppRunner | None = None

    # ----------------------------------------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeDiscord:
        app = web.Application(client_max_size=256 * 2**20)
        app.router.add_get("/gateway", self._gateway.handle)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._attachment)
        app.router.add_get("/external/{signature}/{tail:.*}", self._external_media)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._router.handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        self.base_url = f"http://127.0.0.1:{site.port}"
        self.api_base_url = f"{self.base_url}/api/v10"
        self.gateway_url = f"ws://127.0.0.1:{site.port}/gateway"
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _attachment(self, request: web.Request) -> web.Response:
        """The CDN: an uploaded file's bytes."""
        attachment_id = request.match_info["attachment_id"]
        attachment = self.uploads.get(int(attachment_id)) if attachment_id.isdigit() else None
        if attachment is None:
            raise web.HTTPNotFound
        return web.Response(body=attachment.data, content_type=attachment.content_type or "application/octet-stream")

    async def _external_media(self, request: web.Request) -> web.Response:
        """The media proxy: the file a test hosted at an external url (``host_external``), else 404."""
        signature = request.match_info["signature"]
        hosted = (f for url, f in self.external_files.items() if payloads.media_signature(url) == signature)
        file = next(hosted, None)
        if file is None:
            raise web.HTTPNotFound
        return web.Response(body=file.data, content_type=file.content_type or "application/octet-stream")

    def cdn_url(self, file: Attachment, *, channel_id: int = CHANNEL_ID) -> str:
        """The url at which the fake's CDN serves ``file`` (from ``upload``), e.g. for an embed image linking a
        picture posted earlier."""
        self.uploads[file.id] = file
        return payloads.cdn_url(file, self.base_url, channel_id)

    # ----------------------------------------------------------------------------------------------- waiting

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10) -> None:  # noqa: ASYNC109
        """Return once ``predicate()`` is true, re-checking it whenever the fake records something."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(predicate)
        except TimeoutError:
            name = getattr(predicate, "__qualname__", repr(predicate))
            recent = "; ".join(f"{r.method} {r.route or r.path} -> {r.status}" for r in self.requests[-5:]) or "none"
            raise TimeoutError(
                f"FakeDiscord: {name} still false after {timeout}s (session ready: {self._gateway.session_ready}, "
                f"last requests: {recent}, contract violations: {self.contract_violations or 'none'})"
            ) from None

    async def wait_for_session(self, timeout: float = 10) -> None:  # noqa: ASYNC109
        """Return once a client has identified (or resumed) and READY and GUILD_CREATE were sent."""
        await self.wait_for(lambda: self._gateway.session_ready, timeout)

    async def sync_gateway(self, timeout: float = 10) -> None:  # noqa: ASYNC109
        """Return once the client has processed every gateway frame sent so far (a heartbeat round trip)."""
        target = await self._gateway.ask_heartbeat()
        await self.wait_for(lambda: self._gateway.client_seq >= target, timeout)

    async def disconnect_gateway(self, code: int = 4000) -> None:
        """Drop the client's websocket; discord.py then resumes the session."""
        await self._gateway.disconnect(code)

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
        if self.guild_of(channel_id) != guild_id:
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

    async def invoke_message_command(
        self,
        name: str,
        message: FakeMessage,
        *,
        user: FakeUser | None = None,
        locale: str = "en-US",
        permissions: int = PLAIN_MEMBER_PERMISSIONS,
        roles: Sequence[int] = (),
        guild_id: int = GUILD_ID,
        channel_id: int | None = None,
    ) -> InteractionRecord:
        """Use the message command ``name`` ("Apps → name" in a message's menu) on ``message`` as ``user``.

        A type 2 INTERACTION_CREATE from the message's channel whose data is the command's id and ``name``, ``type``
        3, ``target_id`` and the whole message in ``resolved.messages``, with its content, attachments and embeds
        (a message command's target needs no Message Content intent); ``record.target`` is ``message``, and the
        bot's answers carry ``interaction_metadata.target_message_id``. ``message`` is a member's
        (``post_member_message``) or one of the bot's. Raises LookupError unless the bot registered a message
        command ``name`` globally or in ``guild_id``.
        """
        scope, command = self._find_command(name, guild_id, 3)
        channel_id = channel_id or message.channel_id
        if channel_id != message.channel_id:
            raise ValueError(f"message {message.id} is in channel {message.channel_id}, not {channel_id}")
        if self.guild_of(channel_id) != guild_id:
            raise ValueError(f"channel {channel_id} is not in guild {guild_id}")
        if message.deleted:
            raise ValueError(f"message {message.id} was deleted")
        if message.ephemeral:
            raise ValueError(f"message {message.id} is ephemeral: Discord offers no message commands on it")
        resolved = payloads.message(message, self)
        self._checks.schema(f"INTERACTION_CREATE message command {name!r}", "MessageResponse", resolved)
        data: dict[str, Any] = {
            "id": command["id"],
            "name": name,
            "type": 3,
            "target_id": str(message.id),
            "resolved": {"messages": {str(message.id): resolved}},
        }
        if scope != "global":
            data["guild_id"] = str(guild_id)
        return await self._dispatch_interaction(
            2,
            data,
            user=user or DEFAULT_USER,
            guild_id=guild_id,
            channel_id=channel_id,
            locale=locale,
            permissions=permissions,
            roles=roles,
            target=message,
        )

    def post_member_message(
        self,
        content: str = "",
        *,
        author: FakeUser,
        attachments: Sequence[Attachment] = (),
        embeds: Sequence[dict[str, Any]] = (),
        channel_id: int | None = None,
        guild_id: int = GUILD_ID,
    ) -> FakeMessage:
        """Post a message in a guild channel as the member ``author``, e.g. for a message command to target.

        ``attachments`` are files from ``upload``, which the fake's CDN serves. ``embeds`` are kept as given and
        echoed as Discord does: ``type`` "rich" unless they say otherwise, and an http(s) image or thumbnail url
        gets a ``proxy_url`` on the fake's host (see ``host_external`` and ``cdn_url``). Discord builds a
        picture link's preview as ``{"type": "image", "url": u, "thumbnail": {"url": u}}``.

        The bot is not told through the gateway (it asks for no message intents), but it can fetch the message
        (``GET /channels/{id}/messages/{id}``): without ``message_content_intent``, Discord answers it with empty
        content, embeds, attachments and components unless it mentions the bot.
        """
        if author.id == BOT_USER_ID:
            raise ValueError("the bot's own messages are sent by the bot")
        channel_id = channel_id or self.guilds[guild_id].channel_id
        if self.guild_of(channel_id) != guild_id:
            raise ValueError(f"channel {channel_id} is not in guild {guild_id}")
        if not (content or attachments or embeds):
            raise ValueError("Discord refuses an empty message")
        self.users[author.id] = author
        self.member_roles.setdefault((guild_id, author.id), [])
        for file in attachments:
            self.uploads[file.id] = file
        message = FakeMessage(
            id=self.new_id(),
            channel_id=channel_id,
            content=content,
            embeds=copy.deepcopy(list(embeds)),
            components=[],
            flags=0,
            attachments=list(attachments),
            allowed_mentions=None,
            interaction_id=None,
            author=author,
        )
        self.channel_messages.setdefault(channel_id, []).append(message)
        return message

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
        component = components.find(message.components, custom_id)
        if component is None:
            raise LookupError(f"message {message.id} has no component {custom_id!r}")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        if component_type is not None and component_type != component["type"]:
            raise ValueError(f"component {custom_id!r} has type {component['type']}, not {component_type}")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if component["type"] in (3, 5, 6, 7, 8):
            data["values"] = components.checked_values(component, values or [])
        return await self._dispatch_interaction(
            3,
            data,
            user=user or DEFAULT_USER,
            guild_id=self.guild_of(message.channel_id),
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
        mirrors the modal's layout as Discord does: every component numbered (``id``), action rows and labels
        with the inputs' values, text displays as their type and id only.
        """
        origin = next(
            (r for r in reversed(self.interactions.values()) if (r.modal or {}).get("custom_id") == custom_id), None
        )
        if origin is None or origin.modal is None:
            raise LookupError(f"the bot never opened a modal {custom_id!r}")
        unknown = set(fields) - components.modal_inputs(origin.modal["components"])
        if unknown:
            raise ValueError(f"modal {custom_id!r} has no inputs {sorted(unknown)}")
        layout = components.with_ids(origin.modal["components"])
        data = {"custom_id": custom_id, "components": components.modal_submission(layout, fields)}
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

    # ----------------------------------------------------------------------------------------------- interactions

    def _find_command(self, name: str, guild_id: int, kind: int = 1) -> tuple[str, dict[str, Any]]:
        what = f"slash command /{name}" if kind == 1 else f"{_COMMAND_KINDS[kind]} command {name!r}"
        for scope in ("global", f"guild:{guild_id}"):
            command = self.commands.get(scope, {}).get((name, kind))
            if command is None:
                continue
            if scope == "global" and 0 not in (command.get("contexts") or [0]):  # where it is offered (0: guilds)
                raise LookupError(f"{what} is not offered in guilds (contexts {command['contexts']})")
            return scope, command
        raise LookupError(f"no {what} registered globally or in guild {guild_id}")

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
            member = payloads.member(value, PLAIN_MEMBER_PERMISSIONS, (), with_user=False)
            resolved.setdefault("members", {})[str(value.id)] = member
            return str(value.id)
        if kind == 7 and value == guild.channel_id:
            resolved.setdefault("channels", {})[str(value)] = payloads.channel(guild, PLAIN_MEMBER_PERMISSIONS)
            return str(value)
        if kind in (8, 9) and (value in (guild.id, guild.bot_role_id) or value in guild.extra_roles):
            role = next(r for r in payloads.roles(guild) if r["id"] == str(value))
            resolved.setdefault("roles", {})[str(value)] = role
            return str(value)
        if kind == 11 and isinstance(value, Attachment):
            self.uploads[value.id] = value
            attachment = payloads.attachment(value, self.base_url, guild.channel_id)
            resolved.setdefault("attachments", {})[str(value.id)] = attachment
            return str(value.id)
        raise TypeError(f"option {spec['name']!r} (type {kind}) cannot take {value!r}")

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
        target: FakeMessage | None = None,
        trigger: InteractionRecord | None = None,
        age: float = 0.0,
    ) -> InteractionRecord:
        if not self._gateway.session_ready:
            raise RuntimeError("no discord.py client has a gateway session; await wait_for_session() first")
        guild = self.guilds[guild_id]
        self.users[user.id] = user
        self.member_roles[(guild_id, user.id)] = list(roles)
        interaction_id = self.new_id(age)
        token = base64.urlsafe_b64encode(f"interaction:{interaction_id}:{secrets.token_urlsafe(96)}".encode())
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(APPLICATION_ID),
            "type": kind,
            "data": data,
            "guild_id": str(guild_id),
            "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
            "channel_id": str(channel_id),
            "channel": payloads.channel(guild, permissions),
            "member": payloads.member(user, permissions, roles),
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
            payload["message"] = payloads.message(message, self)
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
            target=target,
            trigger_id=trigger.id if trigger else None,
        )
        self.interactions[interaction_id] = record
        self.by_token[record.token] = record
        record.dispatched_at = await self._gateway.dispatch("INTERACTION_CREATE", payload)
        await self.notify()
        return record
