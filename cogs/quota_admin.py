"""``/quota-admin``: server admins set limits and exemptions; every change is recorded."""

from collections.abc import Iterable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.quota import GuildQuotaSettings, QuotaService, describe_limit, parse_limit
from bot.discord_ui.members import guild_of
from bot.discord_ui.texts import text
from storage.quota_limits import AdminChange, LimitKind

if TYPE_CHECKING:
    from bot.app.client import ImagineBot

LIMIT_HELP = "Images per day: a number, 'unlimited', or 'default'"
FIELD_LIMIT = 1024


def listing(lines: Iterable[str]) -> str:
    """Lines joined for an embed field, cut with a count of what did not fit."""
    lines = list(lines)
    if not lines:
        return text("admin.none")
    shown: list[str] = []
    for index, line in enumerate(lines):
        rest = text("admin.more", count=len(lines) - index)
        if len("\n".join([*shown, line, rest])) > FIELD_LIMIT:
            return "\n".join([*shown, rest])
        shown.append(line)
    return "\n".join(shown)


def settings_embed(settings: GuildQuotaSettings) -> discord.Embed:
    """The server's whole quota configuration."""
    embed = discord.Embed(title=text("admin.title"), colour=discord.Colour.blurple())

    def with_origin(limit: int | None, overridden: bool) -> str:
        return text("admin.limit_set" if overridden else "admin.limit_default", limit=describe_limit(limit))

    embed.add_field(
        name=text("admin.server_limit"), value=with_origin(settings.guild_limit, settings.guild_limit_overridden)
    )
    embed.add_field(
        name=text("admin.user_default"), value=with_origin(settings.user_default, settings.user_default_overridden)
    )
    embed.add_field(
        name=text("admin.role_limits"),
        value=listing(f"<@&{role}>: {describe_limit(limit)}" for role, limit in settings.role_limits.items()),
        inline=False,
    )
    embed.add_field(
        name=text("admin.user_limits"),
        value=listing(f"<@{user}>: {describe_limit(limit)}" for user, limit in settings.user_limits.items()),
        inline=False,
    )
    embed.add_field(
        name=text("admin.exempt_roles"), value=listing(f"<@&{role}>" for role in settings.exempt_roles), inline=False
    )
    embed.set_footer(text=text("admin.footer"))
    return embed


def change_line(change: AdminChange) -> str:
    """One audit entry: when, who, what."""
    target = f" <@{change.target_id}>" if change.target_id else ""
    values = f": {change.old_value} → {change.new_value}" if change.old_value else f": {change.new_value}"
    return f"<t:{change.created_at}:R> <@{change.actor_id}> {change.action}{target}{values}"


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class QuotaAdminCog(commands.GroupCog, group_name="quota-admin", group_description="Set this server's image quotas"):
    """Quota settings for members with Manage Server. Discord hides the commands from others by default, and every
    handler checks the permission again, since server admins can change who sees a command."""

    def __init__(self, quota: QuotaService) -> None:
        super().__init__()
        self._quota = quota

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Require Manage Server, whatever the server's command permission overrides say."""
        if not interaction.permissions.manage_guild:
            raise app_commands.MissingPermissions(["manage_guild"])
        return True

    async def _done(self, interaction: discord.Interaction, message: str) -> None:
        await interaction.followup.send(message, ephemeral=True)

    @app_commands.command(name="show", description="Show this server's quota settings")
    async def show(self, interaction: discord.Interaction) -> None:
        """The whole configuration, privately."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        settings = await self._quota.settings(guild_of(interaction).id)
        await interaction.followup.send(embed=settings_embed(settings), ephemeral=True)

    async def _set_limit(
        self, interaction: discord.Interaction, kind: LimitKind, target_id: int, limit: str, confirmation: str
    ) -> None:
        """Parse the admin's limit, store it with its audit record, and confirm with ``confirmation``."""
        value = parse_limit(limit)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self._quota.set_limit(guild_of(interaction).id, kind, target_id, value, actor_id=interaction.user.id)
        shown = text("admin.default_again") if isinstance(value, str) else describe_limit(value)
        target = f"<@&{target_id}>" if kind == "role" else f"<@{target_id}>"
        await self._done(interaction, text(confirmation, limit=shown, target=target))

    @app_commands.command(name="server-limit", description="Set how many images the whole server may make per day")
    @app_commands.describe(limit=LIMIT_HELP)
    async def server_limit(self, interaction: discord.Interaction, limit: str) -> None:
        """Set the server's daily limit."""
        await self._set_limit(interaction, "guild", 0, limit, "admin.server_limit_done")

    @app_commands.command(name="user-default", description="Set how many images each member may make per day")
    @app_commands.describe(limit=LIMIT_HELP)
    async def user_default(self, interaction: discord.Interaction, limit: str) -> None:
        """Set the default per-member daily limit."""
        await self._set_limit(interaction, "user_default", 0, limit, "admin.user_default_done")

    @app_commands.command(name="role-limit", description="Give members of a role their own daily limit")
    @app_commands.describe(role="The role", limit=f"{LIMIT_HELP} ('default' removes the role's limit)")
    async def role_limit(self, interaction: discord.Interaction, role: discord.Role, limit: str) -> None:
        """Set a role's daily limit; members get the most generous of their roles."""
        await self._set_limit(interaction, "role", role.id, limit, "admin.role_limit_done")

    @app_commands.command(name="user-limit", description="Give one member their own daily limit")
    @app_commands.describe(member="The member", limit=f"{LIMIT_HELP} ('default' removes the override)")
    async def user_limit(self, interaction: discord.Interaction, member: discord.Member, limit: str) -> None:
        """Set one member's daily limit; it beats their roles."""
        await self._set_limit(interaction, "user", member.id, limit, "admin.user_limit_done")

    @app_commands.command(name="exempt-role", description="Exempt a role from all quotas, or stop exempting it")
    @app_commands.describe(role="The role", exempt="True: never limited and not counted against the server")
    async def exempt_role(self, interaction: discord.Interaction, role: discord.Role, exempt: bool) -> None:
        """Exempt a role from quotas, or not."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self._quota.set_exempt(guild_of(interaction).id, role.id, exempt, actor_id=interaction.user.id)
        key = "admin.exempt_done" if exempt else "admin.not_exempt_done"
        await self._done(interaction, text(key, role=role.mention))

    @app_commands.command(name="reset-user", description="Give a member back the images they used today")
    @app_commands.describe(member="The member")
    async def reset_user(self, interaction: discord.Interaction, member: discord.Member) -> None:
        """Forgive the member's images today."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        forgiven = await self._quota.reset_today(guild_of(interaction).id, member.id, actor_id=interaction.user.id)
        await self._done(interaction, text("admin.reset_done", member=member.mention, count=forgiven))

    @app_commands.command(name="changes", description="See the latest changes to this server's quotas")
    async def changes(self, interaction: discord.Interaction) -> None:
        """The latest recorded admin changes."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        changes = await self._quota.recent_changes(guild_of(interaction).id)
        embed = discord.Embed(
            title=text("admin.changes_title"),
            description=listing(map(change_line, changes)),
            colour=discord.Colour.blurple(),
        )
        await interaction.followup.send(embed=embed, ephemeral=True)


async def setup(bot: "ImagineBot") -> None:
    """Extension entry point."""
    await bot.add_cog(QuotaAdminCog(bot.services.quota))
