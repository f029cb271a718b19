"""Appeals: a button on a refusal that sends it to the moderators, who approve (the job runs) or deny it.

Both buttons are ``DynamicItem``s whose custom id carries only a database id, so they keep working after a
restart, days later; everything else is looked up.
"""

import logging
from typing import Any

import discord

from bot.core.errors import AppealError, BotError, DeliveryFailedError, PromptRefusedError
from bot.core.images.catalogue import ImageRequest
from bot.core.pipeline.runner import Delivery, Job
from bot.discord_ui.context import services_of
from bot.discord_ui.embeds import result_embeds, result_files
from bot.discord_ui.members import member_of, seconds_left
from bot.discord_ui.modlog import refusal_embed
from bot.discord_ui.replies import explain
from bot.discord_ui.texts import error_text, text, use_locale
from storage.moderation import Refusal

log = logging.getLogger(__name__)


def appeal_view(refusal: PromptRefusedError) -> discord.ui.View:
    """The Appeal button for an appealable refusal (an empty view otherwise)."""
    view = discord.ui.View(timeout=None)
    if refusal.appealable and refusal.refusal_id is not None:
        view.add_item(AppealButton(refusal.refusal_id))
    return view


class AppealButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"appeal:(?P<refusal_id>[0-9]+)"):
    """Pressed by the refused member: sends the refusal to the mod-log with Approve and Deny."""

    def __init__(self, refusal_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=text("appeal.button"), style=discord.ButtonStyle.secondary, custom_id=f"appeal:{refusal_id}"
            )
        )
        self.refusal_id = refusal_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> "AppealButton":
        """Rebuild the button from its custom id (after a restart, too)."""
        return cls(int(match["refusal_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Open the appeal and put it in front of the moderators."""
        use_locale(interaction)
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
            services = services_of(interaction)
            if interaction.guild is None:
                raise AppealError("not_yours")
            if (await services.moderation.settings(interaction.guild.id)).modlog_channel_id is None:
                raise AppealError("no_modlog")
            appeal, refusal = await services.moderation.open_appeal(
                self.refusal_id, user_id=interaction.user.id, guild_id=interaction.guild.id
            )
            embed = refusal_embed(refusal, title_key="modlog.appeal_title")
            view = discord.ui.View(timeout=None)
            view.add_item(AppealDecisionButton("approve", appeal.id))
            view.add_item(AppealDecisionButton("deny", appeal.id))
            if await services.modlog.post(interaction.guild, embed=embed, view=view) is None:
                # It never reached anyone: undo it, so a retry (once the mod-log works) is not "already appealed".
                await services.moderation.withdraw_appeal(appeal)
                raise AppealError("modlog_unreachable")
            await interaction.followup.send(text("appeal.sent"), ephemeral=True)
        except Exception as exc:
            await explain(interaction, exc)


class AppealDecisionButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"appeal:(?P<decision>approve|deny):(?P<appeal_id>[0-9]+)"
):
    """Pressed by a moderator in the mod-log: approve (run the job for the member) or deny (tell them)."""

    def __init__(self, decision: str, appeal_id: int) -> None:
        approve = decision == "approve"
        super().__init__(
            discord.ui.Button(
                label=text("appeal.approve" if approve else "appeal.deny"),
                style=discord.ButtonStyle.success if approve else discord.ButtonStyle.danger,
                custom_id=f"appeal:{decision}:{appeal_id}",
            )
        )
        self.approve = approve
        self.appeal_id = appeal_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> "AppealDecisionButton":
        """Rebuild the button from its custom id (after a restart, too)."""
        return cls(match["decision"], int(match["appeal_id"]))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Only moderators (Manage Server) decide appeals."""
        use_locale(interaction)
        if not interaction.permissions.manage_guild:
            await explain(interaction, discord.app_commands.MissingPermissions(["manage_guild"]))
            return False
        return True

    async def callback(self, interaction: discord.Interaction) -> None:
        """Record the decision, update the mod-log message, and act on it."""
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
            services = services_of(interaction)
            _, refusal = await services.moderation.decide_appeal(
                self.appeal_id,
                approve=self.approve,
                moderator_id=interaction.user.id,
                guild_id=interaction.guild_id or 0,
            )
            await self._mark_decided(interaction)
            if self.approve:
                outcome = await self._run_for_member(interaction, refusal)
            else:
                outcome = text("appeal.denied_dm", guild=interaction.guild.name if interaction.guild else "")
            await _tell_member(interaction.client, refusal.user_id, outcome)
            await interaction.followup.send(text("appeal.decided_ok"), ephemeral=True)
        except Exception as exc:
            await explain(interaction, exc)

    async def _mark_decided(self, interaction: discord.Interaction) -> None:
        if interaction.message is None or not interaction.message.embeds:
            return
        embed = interaction.message.embeds[0]
        key = "appeal.approved_by" if self.approve else "appeal.denied_by"
        embed.add_field(name="\u200b", value=text(key, moderator=interaction.user.mention), inline=False)
        try:
            await interaction.message.edit(embed=embed, view=None)
        except discord.HTTPException as exc:
            log.warning("Could not update the appeal message %s: %s", interaction.message.id, exc.status)

    async def _run_for_member(self, interaction: discord.Interaction, refusal: Refusal) -> str:
        """Run the refused job as approved (charged as usual) and post it; returns what to tell the member."""
        guild = interaction.guild
        channel = guild.get_channel(refusal.channel_id) if guild else None
        if guild is None or not isinstance(channel, discord.abc.Messageable):
            return text("appeal.approved_failed_dm", guild=guild.name if guild else "", reason="the channel is gone")
        services = services_of(interaction)
        request = ImageRequest.from_record(refusal.options)
        try:  # the models may have changed since the refusal: it is asked again on today's
            inputs = await services.inputs.kept(request.inputs_id) if request.inputs_id is not None else ()
            options = await services.images.plan(guild.id, refusal.prompt, request, inputs=len(inputs))
        except BotError as exc:
            return text("appeal.approved_failed_dm", guild=guild.name, reason=error_text(exc))
        job = Job(
            member=await member_of(guild, refusal.user_id),
            channel_id=refusal.channel_id,
            prompt=refusal.prompt,
            request=request,
            options=options,
            age_restricted=bool(getattr(channel, "is_nsfw", lambda: False)()),
            upload_limit=guild.filesize_limit,
            deadline_seconds=seconds_left(interaction),
            approved_by=interaction.user.id,
            inputs=inputs,
        )
        posted: list[discord.Message] = []

        async def post(delivery: Delivery) -> None:
            files = result_files(delivery.images, refusal.id)
            embeds = result_embeds(delivery.result, files, prompt=refusal.prompt, requester=f"<@{refusal.user_id}>")
            embeds[0].set_footer(text=text("appeal.result_note"))
            try:
                posted.append(await channel.send(embeds=embeds, files=files))
            except discord.HTTPException as exc:
                raise DeliveryFailedError(str(exc.status)) from exc

        try:
            await services.runner.run(job, post, jobs=services.jobs, refusals=services.modlog.refusals(guild))
        except BotError as exc:
            return text("appeal.approved_failed_dm", guild=guild.name, reason=error_text(exc))
        return text("appeal.approved_dm", guild=guild.name, link=posted[0].jump_url)


async def _tell_member(client: discord.Client, user_id: int, message: str) -> None:
    """A direct message to the member; they may not accept DMs, which is fine."""
    try:
        user = await client.fetch_user(user_id)
        await user.send(message)
    except discord.HTTPException as exc:
        log.info("Could not message member %s about their appeal: %s", user_id, exc.status)
