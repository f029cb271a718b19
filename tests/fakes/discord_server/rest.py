"""The REST routes the bot uses and their handlers: users and members, the application and its commands,
interaction callbacks, followups and webhook messages, and channel messages."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import regex

from tests.fakes.discord_server import payloads
from tests.fakes.discord_server.messages import Messages
from tests.fakes.discord_server.routing import ApiError, DroppedConnectionError, Reply, Route
from tests.fakes.discord_server.state import (
    APPLICATION_ID,
    BOT_USER,
    EPHEMERAL,
    LOADING,
    PLAIN_MEMBER_PERMISSIONS,
    Callback,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tests.fakes.discord_server.routing import Call
    from tests.fakes.discord_server.state import DiscordState, FakeMessage, InteractionRecord


# Chat input command and option names: this, in lower case wherever a letter has a lower case. User and message
# command names may have capitals and spaces. (Discord's "Application Command Naming".)
_CHAT_INPUT_NAME = regex.compile(r"[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}")
# fmt: off
LOCALES = frozenset({  # Discord's locales
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl", "no", "pl", "pt-BR",
    "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi", "th", "zh-CN", "ja", "zh-TW", "ko",
})
# fmt: on
_COMMAND_TYPES = {1: "chat input", 2: "user", 3: "message"}


def _string_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _chat_input_problems(entry: dict[str, Any], what: str) -> list[str]:
    """What Discord refuses in a chat input command's, or an option's, names and descriptions."""
    problems = [
        f"{what} name {name!r} must match {_CHAT_INPUT_NAME.pattern} in lower case"
        for name in [entry["name"], *(entry.get("name_localizations") or {}).values()]
        if not _CHAT_INPUT_NAME.fullmatch(name) or any(c != c.lower() for c in name)
    ]
    descriptions = [entry.get("description") or "", *(entry.get("description_localizations") or {}).values()]
    problems += [f"{what} description {d!r} must be 1-100 characters" for d in descriptions if not 1 <= len(d) <= 100]
    for option in entry.get("options") or []:
        problems += _chat_input_problems(option, f"{what} option {option.get('name')!r}")
    return problems


def _command_problems(command: dict[str, Any]) -> list[str]:
    """What Discord refuses in one command of a bulk registration (beyond the spec's schema)."""
    kind = command.get("type") or 1
    what = f"{_COMMAND_TYPES.get(kind, f'type {kind}')} command {command['name']!r}"
    locales = set(command.get("name_localizations") or {}) | set(command.get("description_localizations") or {})
    problems = [f"{what}: unknown locales {sorted(locales - LOCALES)}"] if locales - LOCALES else []
    if kind == 1:
        return problems + _chat_input_problems(command, what)
    if kind not in (2, 3):
        return [*problems, f"{what}: the fake serves chat input, user and message commands only"]
    if command.get("description") or command.get("description_localizations"):
        problems.append(f"{what}: user and message commands take no description (Discord stores an empty one)")
    if command.get("options"):
        problems.append(f"{what}: user and message commands take no options")
    return problems


class Routes:
    """The handlers of Discord's REST routes, applied to ``state``."""

    def __init__(self, state: DiscordState) -> None:
        self._state = state
        self._messages = Messages(state)

    def table(self) -> list[Route]:
        """Every route the fake serves, with its handler."""
        table: list[tuple[str, str, Callable[[Call], Awaitable[Reply]], bool]] = [
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
        return [Route(method, template, handler, auth) for method, template, handler, auth in table]

    # ----------------------------------------------------------------------------------------------- users

    async def _get_user(self, call: Call) -> Reply:
        user = self._state.users.get(int(call.params["user_id"]))
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        return Reply(200, user.payload())

    async def _get_member(self, call: Call) -> Reply:
        state = self._state
        key = (int(call.params["guild_id"]), int(call.params["user_id"]))
        if key not in state.member_roles:
            raise ApiError(404, 10007, "Unknown Member")
        return Reply(200, payloads.member(state.users[key[1]], PLAIN_MEMBER_PERMISSIONS, state.member_roles[key]))

    async def _open_dm(self, call: Call) -> Reply:
        state = self._state
        user = state.users.get(int((call.body or {}).get("recipient_id", 0)))
        if user is None:
            raise ApiError(400, 50007, "Cannot send messages to this user")
        channel_id = next((cid for cid, uid in state.dm_channels.items() if uid == user.id), None) or state.new_id()
        state.dm_channels[channel_id] = user.id
        return Reply(
            200,
            {"id": str(channel_id), "type": 1, "last_message_id": None, "flags": 0, "recipients": [user.payload()]},
        )

    async def _get_me(self, call: Call) -> Reply:
        return Reply(
            200, {**BOT_USER.payload(), "mfa_enabled": False, "locale": "en-US", "verified": True, "email": None}
        )

    # ----------------------------------------------------------------------------------------------- application

    async def _get_application(self, call: Call) -> Reply:
        flags = payloads.application_flags(self._state.message_content_intent)
        return Reply(200, payloads.application(len(self._state.guilds), flags))

    async def _get_gateway_bot(self, call: Call) -> Reply:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return Reply(200, {"url": self._state.gateway_url, "shards": 1, "session_start_limit": limit})

    def _scope(self, call: Call) -> str:
        if call.params["application_id"] != str(APPLICATION_ID):
            note = f"{call.where}: application {call.params['application_id']} is not this bot's"
            raise ApiError(403, 50001, "Missing Access", note)
        guild_id = call.params.get("guild_id")
        if guild_id is None:
            return "global"
        if int(guild_id) not in self._state.guilds:
            raise ApiError(403, 50001, "Missing Access", f"{call.where}: the bot is not in guild {guild_id}")
        return f"guild:{guild_id}"

    async def _get_commands(self, call: Call) -> Reply:
        return Reply(200, self._state.registered_commands(self._scope(call)))

    async def _put_commands(self, call: Call) -> Reply:
        state = self._state
        scope = self._scope(call)
        payload: list[dict[str, Any]] = call.body or []
        keys = [(c["name"], c.get("type") or 1) for c in payload]
        if len(set(keys)) != len(keys):
            raise ApiError(400, 50035, "Invalid Form Body", f"{call.where}: duplicate command names")
        problems = [problem for command in payload for problem in _command_problems(command)]
        if problems:
            raise ApiError(400, 50035, "Invalid Form Body", f"{call.where}: {'; '.join(problems)}")
        state.command_registrations.append((scope, copy.deepcopy(payload)))
        before = state.commands.get(scope, {})
        after: dict[tuple[str, int], dict[str, Any]] = {}
        for key, command in zip(keys, payload, strict=True):
            echoed = {
                "type": key[1],
                "name": command["name"],
                "description": command.get("description") or "",
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
                "id": old["id"] if old else str(state.new_id()),
                "application_id": str(APPLICATION_ID),
                "version": old["version"] if old and unchanged else str(state.new_id()),
            }
            after[key] = echoed
        state.commands[scope] = after
        return Reply(200, state.registered_commands(scope))

    # ----------------------------------------------------------------------------------------------- interactions

    async def _post_callback(self, call: Call) -> Reply:
        state, where = self._state, call.where
        record = state.interactions.get(int(call.params["interaction_id"]))
        if record is None or record.token != call.params["interaction_token"]:
            raise ApiError(404, 10062, "Unknown interaction", f"{where}: unknown interaction or token")
        if state.failing_callbacks:
            state.failing_callbacks -= 1
            raise ApiError(503, 0, "upstream connect error")
        if record.callbacks:
            note = f"{where}: second callback for interaction {record.id} (Discord answers 40060)"
            raise ApiError(400, 40060, "Interaction has already been acknowledged.", note)
        late = call.received_at - record.dispatched_at
        if state.ack_deadline is not None and late > state.ack_deadline:
            note = f"{where}: interaction {record.id} answered after {late:.2f}s (over {state.ack_deadline}s)"
            raise ApiError(404, 10062, "Unknown interaction", note)
        body: dict[str, Any] = call.body or {}
        kind, data = body.get("type"), body.get("data")
        allowed = {2: (4, 5, 9), 3: (4, 5, 6, 7, 9), 5: (4, 5, 6, 7) if record.message else (4, 5)}[record.type]
        if kind not in allowed:
            note = f"{where}: callback type {kind} is not valid for interaction type {record.type}"
            raise ApiError(400, 50035, "Invalid Form Body", note)
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
                resource = {"type": 4, "message": self._messages.payload(message)}
        elif kind in (6, 7) and record.message is not None:
            record.original = record.message
            if kind == 7:
                callback.files = self._messages.edit(record.message, call, data or {})
                info["response_message_id"] = str(record.message.id)
                resource = {"type": 7, "message": self._messages.payload(record.message)}
        record.callbacks.append(callback)
        if state.callback_answers_held is not None:  # applied; the answer is still on its way back
            await state.notify()
            await state.callback_answers_held.wait()
        if state.lost_callback_answers:
            state.lost_callback_answers -= 1
            raise DroppedConnectionError
        if call.query.get("with_response", "false").lower() not in ("true", "1"):
            return Reply(204, None)
        return Reply(200, {"interaction": info} | ({"resource": resource} if resource else {}))

    def _response_message(
        self, call: Call, record: InteractionRecord, callback: Callback, data: dict[str, Any]
    ) -> FakeMessage:
        """The message a type 4 callback creates, or the loading placeholder of a type 5 one."""
        if callback.type == 4:
            message, callback.files = self._messages.create(call, data, record.channel_id, interaction=record)
        else:
            message = self._messages.placeholder(record, LOADING | (int(data.get("flags") or 0) & EPHEMERAL))
        message.type = 20 if record.type == 2 else 0
        record.original = message
        return message

    def _record_for(self, call: Call) -> InteractionRecord:
        record = self._state.by_token.get(call.params["webhook_token"])
        if record is None or call.params["webhook_id"] != str(APPLICATION_ID):
            raise ApiError(404, 10015, "Unknown Webhook", f"{call.where}: unknown webhook id or interaction token")
        if not record.callbacks:
            raise ApiError(404, 10015, "Unknown Webhook", f"{call.where}: the interaction was never acknowledged")
        return record

    async def _post_followup(self, call: Call) -> Reply:
        record = self._record_for(call)
        body: dict[str, Any] = call.body or {}
        original = record.original
        if original is not None and original.loading and not original.deleted and record.response_type == 5:
            # Discord treats the first followup after a "thinking" defer as resolving the placeholder; the
            # ephemeral flag stays as the defer chose.
            self._messages.edit(original, call, {k: v for k, v in body.items() if k != "flags"})
            message = original
        else:
            message, _ = self._messages.create(call, body, record.channel_id, interaction=record)
            record.followups.append(message)
        wait = call.query.get("wait", "false").lower() in ("true", "1")
        return Reply(200, self._messages.payload(message)) if wait else Reply(204)

    def _webhook_message(self, call: Call) -> FakeMessage:
        record = self._record_for(call)
        wanted = call.params.get("message_id", "@original")
        if wanted == "@original":
            message = record.original
        else:
            candidates = [record.original, *record.followups]
            message = next((m for m in candidates if m is not None and str(m.id) == wanted), None)
        if message is None or message.deleted:
            note = f"{call.where}: no message {wanted} for this interaction"
            raise ApiError(404, 10008, "Unknown Message", note)
        return message

    async def _get_webhook_message(self, call: Call) -> Reply:
        return Reply(200, self._messages.payload(self._webhook_message(call)))

    async def _patch_webhook_message(self, call: Call) -> Reply:
        message = self._webhook_message(call)
        self._messages.edit(message, call, call.body or {})
        return Reply(200, self._messages.payload(message))

    async def _delete_webhook_message(self, call: Call) -> Reply:
        self._webhook_message(call).deleted = True
        return Reply(204)

    # ----------------------------------------------------------------------------------------------- channels

    def _known_channel(self, call: Call) -> int:
        channel_id = int(call.params["channel_id"])
        if channel_id in self._state.dm_channels:
            return channel_id
        if all(g.channel_id != channel_id for g in self._state.guilds.values()):
            raise ApiError(404, 10003, "Unknown Channel", f"{call.where}: no channel {channel_id}")
        return channel_id

    def _channel_message(self, call: Call) -> FakeMessage:
        channel_id = self._known_channel(call)
        wanted = int(call.params["message_id"])
        message = next((m for m in self._state.channel_messages.get(channel_id, []) if m.id == wanted), None)
        if message is None or message.deleted or message.ephemeral:
            note = f"{call.where}: no message {wanted} in channel {channel_id}"
            raise ApiError(404, 10008, "Unknown Message", note)
        return message

    async def _post_channel_message(self, call: Call) -> Reply:
        if int(call.params["channel_id"]) in self._state.forbidden_channels:
            raise ApiError(403, 50013, "Missing Permissions")
        message, _ = self._messages.create(call, call.body or {}, self._known_channel(call), interaction=None)
        return Reply(200, self._messages.payload(message))

    async def _get_channel_message(self, call: Call) -> Reply:
        return Reply(200, self._messages.fetched(self._channel_message(call)))

    async def _patch_channel_message(self, call: Call) -> Reply:
        message = self._channel_message(call)
        if message.author is not None:
            note = f"{call.where}: message {message.id} was posted by a member, not the bot"
            raise ApiError(403, 50005, "Cannot edit a message authored by another user", note)
        if message.webhook_id is not None:
            note = f"{call.where}: interaction messages are edited through the webhook routes"
            raise ApiError(403, 50005, "Cannot edit a message authored by another user", note)
        self._messages.edit(message, call, call.body or {})
        return Reply(200, self._messages.payload(message))

    async def _delete_channel_message(self, call: Call) -> Reply:
        self._channel_message(call).deleted = True
        return Reply(204)
