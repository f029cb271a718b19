"""``/moderation``: the blocklist, thresholds, mod-log, output check, strikes, suspensions, and a dry run."""

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import Choice, Range
from discord.ext import commands

from bot.core.errors import InvalidSettingError
from bot.core.moderation.blocklist import DEFAULT_WORDS
from bot.core.moderation.policy import ModerationService
from bot.core.moderation.thresholds import CATEGORIES
from bot.discord_ui.members import guild_of
from bot.discord_ui.moderation_embeds import blocklist_embed, dry_run_embed, strikes_embed, thresholds_embed
from bot.discord_ui.texts import text

if TYPE_CHECKING:
    from bot.app.client import ImagineBot

THRESHOLD_HELP = "Block when the score reaches this, 0 to 1: HIGHER = MORE LENIENT. Or 'default'."


def parse_threshold(raw: str) -> float | None:
    """A threshold from 0 to 1, or ``None`` for 'default'."""
    value = raw.strip().casefold()
    if value == "default":
        return None
    try:
        number = float(value)
    except ValueError:
        raise InvalidSettingError("a threshold is a number from 0 to 1 (higher = more lenient), or 'default'") from None
    if not 0 <= number <= 1:
        raise InvalidSettingError("a threshold is a number from 0 to 1 (higher = more lenient), or 'default'")
    return number


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class ModerationCog(commands.GroupCog, group_name="moderation", group_description="Moderate prompts in this server"):
    """Settings and actions for moderators (Manage Server, checked again in every handler)."""

    blocklist = app_commands.Group(name="blocklist", description="Words and patterns refused in prompts")
    thresholds = app_commands.Group(name="thresholds", description="How strict the moderation check is")
    strikes = app_commands.Group(name="strikes", description="Refusals that count toward a suspension")

    def __init__(self, moderation: ModerationService) -> None:
        super().__init__()
        self._moderation = moderation

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Require Manage Server, whatever the server's command permission overrides say."""
        if not interaction.permissions.manage_guild:
            raise app_commands.MissingPermissions(["manage_guild"])
        return True

    async def _reply(
        self, interaction: discord.Interaction, message: str = "", embed: discord.Embed | None = None
    ) -> None:
        """Answer privately, first telling the admin (once) if the mod-log has stopped working."""
        problem = await self._moderation.take_unreported_modlog_problem(guild_of(interaction).id)
        if problem:
            message = text("mod.modlog_problem", problem=problem) + ("\n\n" + message if message else "")
        await interaction.followup.send(message, embed=embed or discord.utils.MISSING, ephemeral=True)

    async def _defer(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)

    # -- blocklist ----------------------------------------------------------------------------------------------

    @blocklist.command(name="add", description="Refuse prompts containing a word, phrase or pattern")
    @app_commands.describe(entry="A word or phrase (matched as whole words), or a regex", regex="Treat as a regex")
    async def blocklist_add(
        self, interaction: discord.Interaction, entry: Range[str, 1, 200], regex: bool = False
    ) -> None:
        """Add an entry; words are folded like prompts, so one entry also catches its disguises."""
        await self._defer(interaction)
        added = await self._moderation.add_blocklist_entry(
            guild_of(interaction).id, entry, regex=regex, moderator_id=interaction.user.id
        )
        key = "mod.blocklist_added_regex" if regex else "mod.blocklist_added"
        await self._reply(interaction, text(key, entry=added.pattern))

    @blocklist.command(name="remove", description="Remove one of this server's entries")
    @app_commands.describe(entry="The entry as listed")
    async def blocklist_remove(self, interaction: discord.Interaction, entry: Range[str, 1, 200]) -> None:
        """Remove an entry."""
        await self._defer(interaction)
        removed = await self._moderation.remove_blocklist_entry(guild_of(interaction).id, entry)
        await self._reply(
            interaction, text("mod.blocklist_removed" if removed else "mod.blocklist_missing", entry=entry)
        )

    @blocklist.command(name="list", description="Show the blocklist")
    async def blocklist_list(self, interaction: discord.Interaction) -> None:
        """The server's entries and the default list."""
        await self._defer(interaction)
        guild_id = guild_of(interaction).id
        settings = await self._moderation.settings(guild_id)
        own = [(e.kind, e.pattern) for e in (await self._moderation.blocklist(guild_id)).entries]
        own = [
            (kind, pattern) for kind, pattern in own if not (settings.default_blocklist and pattern in DEFAULT_WORDS)
        ]
        await self._reply(
            interaction, embed=blocklist_embed(own, DEFAULT_WORDS if settings.default_blocklist else None)
        )

    @blocklist.command(name="clear", description="Remove every entry, and turn the default list off")
    async def blocklist_clear(self, interaction: discord.Interaction) -> None:
        """Empty the blocklist."""
        await self._defer(interaction)
        count = await self._moderation.clear_blocklist(guild_of(interaction).id)
        await self._reply(interaction, text("mod.blocklist_cleared", count=count))

    @blocklist.command(name="defaults", description="Turn the built-in default list on or off")
    async def blocklist_defaults(self, interaction: discord.Interaction, enabled: bool) -> None:
        """Use the default list, or not."""
        await self._defer(interaction)
        await self._moderation.update_settings(guild_of(interaction).id, default_blocklist=enabled)
        await self._reply(interaction, text("mod.blocklist_defaults_on" if enabled else "mod.blocklist_defaults_off"))

    # -- thresholds ---------------------------------------------------------------------------------------------

    @thresholds.command(name="show", description="Show how strict each category is")
    async def thresholds_show(self, interaction: discord.Interaction) -> None:
        """Every category's threshold."""
        await self._defer(interaction)
        await self._reply(
            interaction, embed=thresholds_embed(await self._moderation.thresholds(guild_of(interaction).id))
        )

    @thresholds.command(name="set", description="Block a category at this score or higher (higher = more lenient)")
    @app_commands.describe(category="The category", block_at=THRESHOLD_HELP)
    @app_commands.choices(category=[Choice(name=c, value=c) for c in CATEGORIES])
    async def thresholds_set(self, interaction: discord.Interaction, category: str, block_at: str) -> None:
        """Set or reset one category's threshold."""
        value = parse_threshold(block_at)
        await self._defer(interaction)
        await self._moderation.set_threshold(guild_of(interaction).id, category, value)
        if value is None:
            await self._reply(interaction, text("mod.threshold_reset", category=category))
        else:
            await self._reply(interaction, text("mod.threshold_set", category=category, value=value))

    # -- mod-log and output check -------------------------------------------------------------------------------

    @app_commands.command(name="modlog", description="Choose the channel for moderation logs (none: off)")
    async def modlog(self, interaction: discord.Interaction, channel: discord.TextChannel | None = None) -> None:
        """Set the mod-log channel, checking that the bot can post there."""
        await self._defer(interaction)
        guild_id = guild_of(interaction).id
        if channel is None:
            await self._moderation.update_settings(guild_id, modlog_channel_id=None)
            await self._reply(interaction, text("mod.modlog_off"))
            return
        try:  # an embed, so a missing Embed Links permission shows now rather than at the first refusal
            await channel.send(embed=discord.Embed(description=text("mod.modlog_test")))
        except discord.HTTPException:
            await self._reply(interaction, text("mod.modlog_cannot_post", channel=channel.mention))
            return
        await self._moderation.update_settings(guild_id, modlog_channel_id=channel.id)
        await self._moderation.modlog_works(guild_id)
        await self._reply(interaction, text("mod.modlog_set", channel=channel.mention))

    @app_commands.command(name="output-check", description="Check generated pictures before posting them")
    async def output_check(self, interaction: discord.Interaction, enabled: bool) -> None:
        """Turn the output check on or off."""
        await self._defer(interaction)
        await self._moderation.update_settings(guild_of(interaction).id, output_check=enabled)
        await self._reply(interaction, text("mod.output_on" if enabled else "mod.output_off"))

    # -- strikes and suspensions --------------------------------------------------------------------------------

    @strikes.command(name="list", description="Recent strikes, for one member or everyone")
    async def strikes_list(self, interaction: discord.Interaction, member: discord.Member | None = None) -> None:
        """Strikes within the window."""
        await self._defer(interaction)
        guild_id = guild_of(interaction).id
        found = await self._moderation.strikes(guild_id, member.id if member else None)
        window = (await self._moderation.settings(guild_id)).strike_window_hours
        await self._reply(interaction, embed=strikes_embed(found, window))

    @strikes.command(name="pardon", description="Clear a member's strikes")
    async def strikes_pardon(self, interaction: discord.Interaction, member: discord.Member) -> None:
        """Pardon every strike of a member."""
        await self._defer(interaction)
        count = await self._moderation.pardon(guild_of(interaction).id, member.id, moderator_id=interaction.user.id)
        await self._reply(interaction, text("mod.pardoned", count=count, member=member.mention))

    @strikes.command(name="policy", description="How many refusals, within how long, suspend a member for how long")
    async def strikes_policy(
        self,
        interaction: discord.Interaction,
        refusals: Range[int, 1, 50],
        within_hours: Range[int, 1, 720],
        suspend_hours: Range[int, 1, 8760],
    ) -> None:
        """Set the strike policy."""
        await self._defer(interaction)
        await self._moderation.update_settings(
            guild_of(interaction).id,
            strike_limit=refusals,
            strike_window_hours=within_hours,
            suspension_hours=suspend_hours,
        )
        await self._reply(
            interaction, text("mod.policy_set", limit=refusals, window=within_hours, suspension=suspend_hours)
        )

    @app_commands.command(name="suspend", description="Stop a member from using /imagine for a while")
    async def suspend(
        self, interaction: discord.Interaction, member: discord.Member, hours: Range[int, 1, 8760]
    ) -> None:
        """Suspend a member."""
        await self._defer(interaction)
        until = await self._moderation.suspend(
            guild_of(interaction).id, member.id, hours, moderator_id=interaction.user.id
        )
        await self._reply(
            interaction, text("mod.suspended", member=member.mention, until=discord.utils.format_dt(until, "f"))
        )

    @app_commands.command(name="unsuspend", description="Let a suspended member use /imagine again")
    async def unsuspend(self, interaction: discord.Interaction, member: discord.Member) -> None:
        """Lift a suspension."""
        await self._defer(interaction)
        lifted = await self._moderation.unsuspend(guild_of(interaction).id, member.id)
        await self._reply(
            interaction, text("mod.unsuspended" if lifted else "mod.not_suspended", member=member.mention)
        )

    # -- dry run ----------------------------------------------------------------------------------------------

    @app_commands.command(name="test", description="See what each moderation layer says about a prompt (dry run)")
    @app_commands.describe(prompt="A prompt to check; nothing is generated or recorded")
    async def test(self, interaction: discord.Interaction, prompt: Range[str, 1, 4000]) -> None:
        """Run the layers without recording anything, in this channel's profile."""
        await self._defer(interaction)
        age_restricted = bool(getattr(interaction.channel, "is_nsfw", lambda: False)())
        run = await self._moderation.dry_run(guild_of(interaction).id, prompt, age_restricted=age_restricted)
        await self._reply(interaction, embed=dry_run_embed(prompt, run))


async def setup(bot: "ImagineBot") -> None:
    """Extension entry point."""
    await bot.add_cog(ModerationCog(bot.services.moderation))
