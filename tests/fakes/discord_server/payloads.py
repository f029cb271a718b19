"""Discord's JSON objects as the fake sends them: members, channels, roles, guilds, the application, messages with
their attachments and embeds (whose images go through the media proxy)."""

from __future__ import annotations

import base64
import copy
import hashlib
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tests.fakes.discord_server.state import (
    APP_PERMISSIONS,
    APPLICATION_ID,
    BOT_USER,
    BOT_USER_ID,
    GUILD_OWNER_ID,
    PLAIN_MEMBER_PERMISSIONS,
    FakeUser,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tests.fakes.discord_server.state import Attachment, DiscordState, FakeGuild, FakeMessage, InteractionRecord

APPLICATION_FLAGS = 1 << 23  # APPLICATION_COMMAND_BADGE
GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19  # the Message Content intent, switched on for an unverified app
ATTACHMENT_URL = re.compile(r"attachment://(\S+)")
_CDN_PATH = re.compile(r"/attachments/\d+/(\d+)/[^/]+")
_BOT_MENTIONS = (f"<@{BOT_USER_ID}>", f"<@!{BOT_USER_ID}>")


def member(user: FakeUser, permissions: int, roles: Sequence[int], *, with_user: bool = True) -> dict[str, Any]:
    """A guild member object."""
    payload: dict[str, Any] = {
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
        payload["user"] = user.payload()
    return payload


def channel(guild: FakeGuild, permissions: int | None = None) -> dict[str, Any]:
    """A guild's text channel, with the invoking member's ``permissions`` in it if given."""
    payload: dict[str, Any] = {
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
        payload["permissions"] = str(permissions)
    return payload


def roles(guild: FakeGuild) -> list[dict[str, Any]]:
    """A guild's roles: @everyone, the bot's managed role, and any plain roles added."""

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


def guild_create(guild: FakeGuild, premium_tier: int) -> dict[str, Any]:
    """A GUILD_CREATE event's data: the guild with its channel, roles and the bot as its one cached member."""
    bot_member = member(BOT_USER, APP_PERMISSIONS, [guild.bot_role_id])
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
        "premium_tier": premium_tier,
        "premium_subscription_count": (0, 2, 7, 14)[premium_tier],
        "premium_progress_bar_enabled": False,
        "preferred_locale": "en-US",
        "vanity_url_code": None,
        "application_id": None,
        "max_members": 500000,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "features": [],
        "roles": roles(guild),
        "emojis": [],
        "stickers": [],
        "channels": [channel(guild)],
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


def application_flags(message_content_intent: bool) -> int:
    """The application's flags, with the Message Content intent's if it has it."""
    return APPLICATION_FLAGS | (GATEWAY_MESSAGE_CONTENT_LIMITED if message_content_intent else 0)


def application(guild_count: int, flags: int) -> dict[str, Any]:
    """The bot's application, as ``GET /oauth2/applications/@me`` answers it."""
    owner = FakeUser(GUILD_OWNER_ID, "owner", "Owner").payload()
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
        "approximate_guild_count": guild_count,
        "approximate_user_install_count": 0,
        "approximate_user_authorization_count": 0,
        "explicit_content_filter": 0,
        "team": None,
        "eligible_oauth2_scopes": [],
    }


def cdn_url(file: Attachment, base_url: str, channel_id: int) -> str:
    """Where the fake's CDN at ``base_url`` serves an uploaded file."""
    return f"{base_url}/attachments/{channel_id}/{file.id}/{file.filename}"


def media_signature(url: str) -> str:
    """The part of a media proxy url that names the external ``url`` (Discord's is an HMAC of it)."""
    return base64.urlsafe_b64encode(hashlib.sha256(url.encode()).digest()[:18]).decode()


def media_proxy_url(url: str, base_url: str) -> str:
    """Where the fake's media proxy at ``base_url`` serves the external ``url``; shaped like Discord's
    ``https://images-ext-1.discordapp.net/external/<signature>/<scheme>/<host>/<path>``."""
    parts = urlsplit(url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{base_url}/external/{media_signature(url)}/{parts.scheme}/{parts.netloc}{parts.path}{query}"


def proxied_media(url: str, state: DiscordState) -> dict[str, Any]:
    """What Discord's media proxy adds to an embed's image or thumbnail at the http(s) ``url``.

    A file on the fake's CDN is proxied at its own url; any other url at ``media_proxy_url``, which serves the file
    a test hosted there with ``host_external`` and answers 404 otherwise. The width, height and content type come
    with it when the proxy has the file.
    """
    match = _CDN_PATH.fullmatch(urlsplit(url).path) if state.base_url and url.startswith(state.base_url) else None
    on_cdn = state.uploads.get(int(match.group(1))) if match else None
    file = on_cdn or state.external_files.get(url)
    fields: dict[str, Any] = {"proxy_url": url if on_cdn else media_proxy_url(url, state.base_url)}
    if file is not None and file.width is not None:
        fields |= {"width": file.width, "height": file.height}
    if file is not None and file.content_type:
        fields["content_type"] = file.content_type
    return fields


def attachment(file: Attachment, base_url: str, channel_id: int, *, ephemeral: bool = False) -> dict[str, Any]:
    """An attachment object; its url serves the file from the fake's CDN at ``base_url``."""
    url = cdn_url(file, base_url, channel_id)
    payload: dict[str, Any] = {
        "id": str(file.id),
        "filename": file.filename,
        "size": file.size,
        "url": url,
        "proxy_url": url,
    }
    if file.content_type:
        payload["content_type"] = file.content_type
    if file.width is not None:
        payload |= {"width": file.width, "height": file.height}
    if file.description is not None:
        payload["description"] = file.description
    if ephemeral:
        payload["ephemeral"] = True
    return payload


def embed(sent: dict[str, Any], by_name: dict[str, dict[str, Any]], state: DiscordState) -> dict[str, Any]:
    """An embed as Discord echoes it: typed, with ``attachment://`` images pointing at the uploaded files and
    http(s) images through the media proxy."""
    echoed = {"type": "rich", **copy.deepcopy(sent)}
    for key in ("image", "thumbnail"):
        media = echoed.get(key)
        url = media.get("url", "") if media else ""
        name = ATTACHMENT_URL.fullmatch(url)
        if media and name and name.group(1) in by_name:
            uploaded = by_name[name.group(1)]
            media |= {"url": uploaded["url"], "proxy_url": uploaded["proxy_url"]}
            media |= {k: uploaded[k] for k in ("width", "height", "content_type") if k in uploaded}
        elif media and url.startswith(("https://", "http://")):
            media |= proxied_media(url, state)
    return echoed


def mentions_bot(sent: FakeMessage) -> bool:
    """Whether a message's content mentions the bot."""
    return any(mention in (sent.content or "") for mention in _BOT_MENTIONS)


def without_content(payload: dict[str, Any]) -> dict[str, Any]:
    """A message as an app without the Message Content intent gets it: content, embeds, attachments and
    components empty, no poll."""
    stripped = {key: value for key, value in payload.items() if key != "poll"}
    return stripped | {"content": "", "embeds": [], "attachments": [], "components": []}


def message(sent: FakeMessage, state: DiscordState) -> dict[str, Any]:
    """A message as Discord's API returns it, with the metadata of the interaction it answers, if any; a
    member's message (``sent.author``) with that member as its author."""
    base_url, interactions = state.base_url, state.interactions
    attachments = [attachment(a, base_url, sent.channel_id, ephemeral=sent.ephemeral) for a in sent.attachments]
    by_name = {a["filename"]: a for a in attachments}
    payload: dict[str, Any] = {
        "id": str(sent.id),
        "channel_id": str(sent.channel_id),
        "type": sent.type,
        "content": sent.content or "",
        "author": (sent.author or BOT_USER).payload(),
        "embeds": [embed(e, by_name, state) for e in sent.embeds],
        "attachments": attachments,
        "components": copy.deepcopy(sent.components),
        "flags": sent.flags,
        "timestamp": sent.created_at,
        "edited_timestamp": sent.edited_at,
        "mentions": [BOT_USER.payload()] if sent.author is not None and mentions_bot(sent) else [],
        "mention_roles": [],
        "mention_everyone": False,
        "pinned": False,
        "tts": False,
    }
    if sent.webhook_id is not None:
        payload |= {"webhook_id": str(sent.webhook_id), "application_id": str(APPLICATION_ID)}
    record = interactions.get(sent.interaction_id or 0)
    if record is not None:
        payload["interaction_metadata"] = metadata = _interaction_metadata(record, interactions)
        if record.original is not None and record.original is not sent:
            metadata["original_response_message_id"] = str(record.original.id)
    return payload


def _interaction_metadata(record: InteractionRecord, interactions: dict[int, InteractionRecord]) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "id": str(record.id),
        "type": record.type,
        "user": record.user.payload(),
        "authorizing_integration_owners": {"0": str(record.guild_id)},
    }
    if record.message is not None and record.type == 3:
        metadata["interacted_message_id"] = str(record.message.id)
    if record.target is not None:
        metadata["target_message_id"] = str(record.target.id)
    trigger = interactions.get(record.trigger_id or 0)
    if trigger is not None:
        metadata["triggering_interaction_metadata"] = _interaction_metadata(trigger, interactions)
    return metadata
