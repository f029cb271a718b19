"""The bot's messages as Discord creates and edits them: files resolved against the upload limit, components
numbered, flags filtered, ``attachment://`` references checked; and how the bot sees them, and members' messages,
over REST."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.fakes.discord_server import components, payloads
from tests.fakes.discord_server.routing import ApiError
from tests.fakes.discord_server.state import APPLICATION_ID, EPHEMERAL, LOADING, FakeMessage, now_iso

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tests.fakes.discord_server.routing import Call
    from tests.fakes.discord_server.state import Attachment, DiscordState, InteractionRecord

SUPPRESS_EMBEDS = 1 << 2
SUPPRESS_NOTIFICATIONS = 1 << 12
IS_COMPONENTS_V2 = 1 << 15
_SENDABLE_FLAGS = EPHEMERAL | SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2
_EDITABLE_FLAGS = SUPPRESS_EMBEDS | IS_COMPONENTS_V2


class Messages:
    """Creates and edits messages in ``state``'s channels."""

    def __init__(self, state: DiscordState) -> None:
        self._state = state

    def payload(self, message: FakeMessage) -> dict[str, Any]:
        """``message`` as Discord's API returns it."""
        return payloads.message(message, self._state)

    def fetched(self, message: FakeMessage) -> dict[str, Any]:
        """``message`` as the bot fetches it: a member's message comes without its content unless the application
        has the Message Content intent or the message mentions the bot."""
        payload = self.payload(message)
        hidden = message.author is not None and not self._state.message_content_intent
        return payloads.without_content(payload) if hidden and not payloads.mentions_bot(message) else payload

    def create(
        self, call: Call, body: dict[str, Any], channel_id: int, *, interaction: InteractionRecord | None
    ) -> tuple[FakeMessage, list[Attachment]]:
        """A new message from a request's ``body`` (an interaction's answer or followup if ``interaction``), and
        the files uploaded with it."""
        state = self._state
        # Direct messages get the upload limit of a server without boosts.
        limit_guild = 0 if channel_id in state.dm_channels else state.guild_of(channel_id)
        attachments, new = self._attachments(call, body, (), limit_guild)
        if not (body.get("content") or body.get("embeds") or body.get("components") or attachments or body.get("poll")):
            raise ApiError(400, 50006, "Cannot send an empty message", f"{call.where}: empty message")
        message = FakeMessage(
            id=state.new_id(),
            channel_id=channel_id,
            content=body.get("content"),
            embeds=list(body.get("embeds") or []),
            components=components.with_ids(body.get("components") or []),
            flags=int(body.get("flags") or 0) & _SENDABLE_FLAGS,
            attachments=attachments,
            allowed_mentions=body.get("allowed_mentions"),
            interaction_id=interaction.id if interaction else None,
            webhook_id=APPLICATION_ID if interaction else None,
        )
        self._check_embed_references(message, call.where)
        state.channel_messages.setdefault(channel_id, []).append(message)
        if channel_id in state.dm_channels:
            state.direct_messages.setdefault(state.dm_channels[channel_id], []).append(message)
        return message, new

    def placeholder(self, record: InteractionRecord, flags: int) -> FakeMessage:
        """The empty message a deferred interaction's answer starts as."""
        message = FakeMessage(
            id=self._state.new_id(),
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
        self._state.channel_messages.setdefault(record.channel_id, []).append(message)
        return message

    def edit(self, message: FakeMessage, call: Call, body: dict[str, Any]) -> list[Attachment]:
        """Apply an edit (PATCH or UPDATE_MESSAGE callback) to ``message``; returns newly uploaded files."""
        guild_id = self._state.guild_of(message.channel_id)
        message.attachments, new = self._attachments(call, body, message.attachments, guild_id)
        if "content" in body:
            message.content = body["content"]
        if "embeds" in body:
            message.embeds = list(body["embeds"] or [])
        if "components" in body:
            message.components = components.with_ids(body["components"] or [])
        if "allowed_mentions" in body:
            message.allowed_mentions = body["allowed_mentions"]
        if body.get("flags") is not None:
            message.flags = (message.flags & ~_EDITABLE_FLAGS) | (int(body["flags"]) & _EDITABLE_FLAGS)
        if not message.loading:
            message.edited_at = now_iso()
        message.flags &= ~LOADING
        message.edits += 1
        self._check_embed_references(message, call.where)
        return new

    def _attachments(
        self, call: Call, body: dict[str, Any], keep: Sequence[Attachment], guild_id: int
    ) -> tuple[list[Attachment], list[Attachment]]:
        """(the message's attachments after this request, the newly uploaded ones), as Discord resolves them."""
        state, where, uploads = self._state, call.where, call.uploads
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
                raise ApiError(400, 50035, "Invalid Form Body", note)
            used.add(ref)
            limit = state.upload_limit(guild_id)
            if len(upload.data) > limit:
                note = f"{where}: files[{ref}] is {len(upload.data)} bytes, over the guild's {limit}"
                raise ApiError(413, 40005, "Request entity too large", note)
            filename = entry.get("filename") or upload.filename
            attachment = state.upload(filename, upload.data, upload.content_type, description=entry.get("description"))
            result.append(attachment)
            new.append(attachment)
        for index in sorted(set(uploads) - used):
            state.violation(f"{where}: files[{index}] is not listed in payload_json's attachments")
        return result, new

    def _check_embed_references(self, message: FakeMessage, where: str) -> None:
        names = {a.filename for a in message.attachments}
        for embed in message.embeds:
            for key in ("image", "thumbnail"):
                match = payloads.ATTACHMENT_URL.fullmatch((embed.get(key) or {}).get("url", ""))
                if match and match.group(1) not in names:
                    self._state.violation(f"{where}: embed {key} {match.group(0)} names no attachment of the message")
