"""Discord's JSON objects as the fake sends them: members, channels, roles, guilds, the application, messages with
their attachments and embeds."""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

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

    from tests.fakes.discord_server.state import Attachment, FakeGuild, FakeMessage, InteractionRecord

APPLICATION_FLAGS = 1 << 23  # APPLICATION_COMMAND_BADGE
ATTACHMENT_URL = re.compile(r"attachment://(\S+)")


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


def application(guild_count: int) -> dict[str, Any]:
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
        "flags": APPLICATION_FLAGS,
        "flags_new": str(APPLICATION_FLAGS),
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


def attachment(file: Attachment, base_url: str, channel_id: int, *, ephemeral: bool = False) -> dict[str, Any]:
    """An attachment object; its url serves the file from the fake's CDN at ``base_url``."""
    url = f"{base_url}/attachments/{channel_id}/{file.id}/{file.filename}"
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


def embed(sent: dict[str, Any], by_name: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An embed as Discord echoes it: typed, with ``attachment://`` images pointing at the uploaded files."""
    echoed = {"type": "rich", **copy.deepcopy(sent)}
    for key in ("image", "thumbnail"):
        media = echoed.get(key)
        name = ATTACHMENT_URL.fullmatch(media.get("url", "")) if media else None
        if media and name and name.group(1) in by_name:
            uploaded = by_name[name.group(1)]
            media |= {"url": uploaded["url"], "proxy_url": uploaded["proxy_url"]}
            media |= {k: uploaded[k] for k in ("width", "height", "content_type") if k in uploaded}
    return echoed


def message(sent: FakeMessage, base_url: str, interactions: dict[int, InteractionRecord]) -> dict[str, Any]:
    """A message as Discord's API returns it, with the metadata of the interaction it answers, if any."""
    attachments = [attachment(a, base_url, sent.channel_id, ephemeral=sent.ephemeral) for a in sent.attachments]
    by_name = {a["filename"]: a for a in attachments}
    payload: dict[str, Any] = {
        "id": str(sent.id),
        "channel_id": str(sent.channel_id),
        "type": sent.type,
        "content": sent.content or "",
        "author": BOT_USER.payload(),
        "embeds": [embed(e, by_name) for e in sent.embeds],
        "attachments": attachments,
        "components": copy.deepcopy(sent.components),
        "flags": sent.flags,
        "timestamp": sent.created_at,
        "edited_timestamp": sent.edited_at,
        "mentions": [],
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
    trigger = interactions.get(record.trigger_id or 0)
    if trigger is not None:
        metadata["triggering_interaction_metadata"] = _interaction_metadata(trigger, interactions)
    return metadata
