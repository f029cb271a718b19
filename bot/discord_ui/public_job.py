"""The public job: acknowledging publicly, running the job with live progress, posting the result with its
buttons, and the buttons themselves.

Reroll, Edit, Delete and (for several pictures) Pick are ``DynamicItem``s whose custom id carries only the
generation id; the rest is looked up in the database, so a button pressed days later, after restarts, works.
Reroll and Edit go through the same moderation and quota path as /imagine.
"""

import asyncio
import io
import logging
import time
from collections.abc import Awaitable, Sequence
from dataclasses import replace
from http import HTTPStatus
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import discord

from bot.core.errors import ImageTooLargeError, NotYoursError, PromptRefusedError, ResultGoneError
from bot.core.images.catalogue import ImageOptions, ImageRequest
from bot.core.images.encoding import PreparedImage
from bot.core.images.inputs import InputSource
from bot.core.moderation.normalize import clean_prompt
from bot.core.pipeline.runner import Delivery, Job
from bot.discord_ui.appeal_views import appeal_view
from bot.discord_ui.context import services_of
from bot.discord_ui.embeds import result_embeds, result_files
from bot.discord_ui.members import guild_of, member_ref, seconds_left
from bot.discord_ui.progress import InteractionProgress
from bot.discord_ui.replies import explain, reply_privately
from bot.discord_ui.sources import attachment_source, is_picture
from bot.discord_ui.texts import error_text, text, use_locale

if TYPE_CHECKING:
    from bot.app.client import Services

log = logging.getLogger(__name__)

BUTTON_LOOKS = MappingProxyType(
    {
        "reroll": ("🔁", "result.reroll"),
        "edit": ("✏️", "result.edit"),
        "refine": ("🪄", "result.refine"),
        "delete": ("🗑️", "result.delete"),
    }
)


def interaction_job(
    interaction: discord.Interaction,
    prompt: str,
    request: ImageRequest,
    options: ImageOptions,
    inputs: tuple[PreparedImage, ...] = (),
) -> Job:
    """A job for this interaction's member and channel (remixing ``inputs``), due before its token expires."""
    guild = guild_of(interaction)
    return Job(
        member=member_ref(interaction),
        channel_id=interaction.channel_id or 0,
        prompt=prompt,
        request=request,
        options=options,
        age_restricted=bool(getattr(interaction.channel, "is_nsfw", lambda: False)()),
        upload_limit=min(interaction.filesize_limit, guild.filesize_limit),
        deadline_seconds=seconds_left(interaction),
        inputs=inputs,
    )


def result_view(job_id: int, pictures: int) -> discord.ui.View:
    """The buttons under a result."""
    view = discord.ui.View(timeout=None)
    for action in BUTTON_LOOKS:
        view.add_item(ResultButton(action, job_id))
    if pictures > 1:
        for index in range(pictures):
            view.add_item(PickButton(job_id, index))
    return view


async def defer_publicly(interaction: discord.Interaction) -> int | None:
    """Show a public "thinking…"; returns the placeholder's message id when Discord gives it."""
    callback = await interaction.response.defer(thinking=True)
    return callback.message_id if callback is not None else None


async def run_public_job(
    interaction: discord.Interaction, prompt: str, request: ImageRequest, sources: Sequence[InputSource] = ()
) -> None:
    """Acknowledge publicly (the first await), run the job (a remix of ``sources``, if any) with live progress, and
    turn the placeholder into the result."""
    await run_deferred_job(interaction, await defer_publicly(interaction), prompt, request, sources)


async def run_deferred_job(
    interaction: discord.Interaction,
    message_id: int | None,
    prompt: str,
    request: ImageRequest,
    sources: Sequence[InputSource] = (),
) -> None:
    """Run the job of an interaction answered with a public placeholder (``message_id``), and turn it into the result.

    Pictures to remix come from ``sources`` (fetched, checked and kept now), or, for a remix made again, from those
    kept under ``request.inputs_id``. The result's record is queued before the edit that shows it is sent, and
    commits while the edit is on its way: any button press reads it after it.
    """
    services = services_of(interaction)

    async def post(delivery: Delivery) -> None:
        files = result_files(delivery.images, delivery.job_id)
        link = f"https://discord.com/channels/{interaction.guild_id}/{interaction.channel_id}/{message_id}"
        embeds = result_embeds(
            delivery.result,
            files,
            prompt=prompt,
            requester=interaction.user.mention,
            link=link if message_id else None,
            remix_of=_remix_line(job),
        )
        recorded = None
        if message_id is not None:  # queued before the edit goes out: a button press can only come after it
            recorded = _remember(services, interaction, (delivery.job_id, message_id), prompt, job)
        try:
            message = await interaction.edit_original_response(
                embeds=embeds, attachments=files, view=result_view(delivery.job_id, len(files))
            )
        except discord.HTTPException as exc:
            if message_id is not None:  # recorded but never shown: /history must not link to it
                await services.results.mark_deleted(delivery.job_id, now=int(time.time()))
            if exc.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
                raise ImageTooLargeError from exc
            raise
        finally:
            if recorded is not None:
                await recorded
        if message_id is None:
            await _remember(services, interaction, (delivery.job_id, message.id), prompt, job)

    try:
        request, inputs = await _inputs(interaction, request, sources)
        options = await services.images.plan(interaction.guild_id or 0, prompt, request, inputs=len(inputs))
        job = interaction_job(interaction, prompt, request, options, inputs)
        await services.runner.run(
            job,
            post,
            jobs=services.jobs,
            refusals=services.modlog.refusals(guild_of(interaction)),
            progress=InteractionProgress(
                interaction, interval=services.progress_interval, first_edit_after=services.progress_interval
            ),
        )
    except PromptRefusedError as refusal:
        await reply_privately(interaction, error_text(refusal), view=appeal_view(refusal))


async def _inputs(
    interaction: discord.Interaction, request: ImageRequest, sources: Sequence[InputSource]
) -> tuple[ImageRequest, tuple[PreparedImage, ...]]:
    """The pictures a job remixes (none for a plain generation), and its request with where they are kept."""
    inputs = services_of(interaction).inputs
    if sources:
        member = member_ref(interaction)
        input_id, pictures = await inputs.take(sources, guild_id=member.guild_id, user_id=member.user_id)
        return replace(request, inputs_id=input_id), pictures
    if request.inputs_id is not None:
        return request, await inputs.kept(request.inputs_id)
    return request, ()


def _remix_line(job: Job) -> str | None:
    """What a remix was made from: the message its picture came from, else how many pictures were given."""
    if not job.inputs:
        return None
    if job.request.source_url:
        return job.request.source_url
    return text("result.remix_upload") if len(job.inputs) == 1 else text("result.remix_uploads", count=len(job.inputs))


def _remember(
    services: "Services", interaction: discord.Interaction, posted: tuple[int, int], prompt: str, job: Job
) -> Awaitable[None]:
    """Queue the result's record now; the returned awaitable waits for its commit and logs a failure."""
    job_id, message_id = posted
    try:
        record = services.results.record(
            job_id,
            guild_id=interaction.guild_id or 0,
            channel_id=interaction.channel_id or 0,
            message_id=message_id,
            user_id=interaction.user.id,
            prompt=prompt,
            options=job.request_record(),
            now=int(time.time()),
        )
    except Exception as exc:  # refused outright (the database is closing): logged like a failed commit
        refused: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        refused.set_exception(exc)
        record = refused
    return _committed_or_logged(record, job_id)


async def _committed_or_logged(record: Awaitable[object], job_id: int) -> None:
    try:
        await record
    except Exception:
        # The picture is still posted and charged; only its buttons will say the result is gone.
        log.exception("Could not record result %s", job_id)


async def _result_here(interaction: discord.Interaction, job_id: int) -> Any:
    result = await services_of(interaction).results.get(job_id)
    if result is None or result.deleted or result.guild_id != interaction.guild_id:
        raise ResultGoneError
    return result


class ResultButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"imagine:(?P<action>reroll|edit|refine|delete):(?P<job>[0-9]+)",
):
    """🔁 Reroll (same prompt and options, a new job), ✏️ Edit (a new job from an edited prompt, from scratch),
    🪄 Refine (an edit of this very picture), 🗑️ Delete."""

    def __init__(self, action: str, job_id: int) -> None:
        emoji, label = BUTTON_LOOKS[action]
        super().__init__(
            discord.ui.Button(
                emoji=emoji,
                label=text(label),
                style=discord.ButtonStyle.secondary,
                custom_id=f"imagine:{action}:{job_id}",
            )
        )
        self.action = action
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> "ResultButton":
        """Rebuild the button from its custom id (after a restart, too)."""
        return cls(match["action"], int(match["job"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Act on the result this button belongs to."""
        use_locale(interaction)
        try:
            if self.action == "delete":
                await self._delete(interaction)
            elif self.action == "refine":
                await interaction.response.send_modal(RefineModal(self.job_id))
            elif self.action == "edit":
                # A modal must be the interaction's first answer, so this one reads the prompt before answering.
                result = await _result_here(interaction, self.job_id)
                request = ImageRequest.from_record(result.options)
                await interaction.response.send_modal(EditPromptModal(result.prompt, request))
            else:
                message_id = await defer_publicly(interaction)
                result = await _result_here(interaction, self.job_id)
                request = ImageRequest.from_record(result.options)
                services_of(interaction).images.catalogue.resolve(result.prompt, request)
                await run_deferred_job(interaction, message_id, result.prompt, request)
        except Exception as exc:
            await explain(interaction, exc)

    async def _delete(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await _result_here(interaction, self.job_id)
        if interaction.user.id != result.user_id and not interaction.permissions.manage_messages:
            raise NotYoursError
        if interaction.message is not None:
            await interaction.message.delete()
        await services_of(interaction).results.mark_deleted(self.job_id, now=int(time.time()))
        await interaction.followup.send(text("result.deleted"), ephemeral=True)


class PickButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"imagine:pick:(?P<job>[0-9]+):(?P<index>[0-9])"
):
    """Picks one picture of a set, shown to the presser at full size."""

    def __init__(self, job_id: int, index: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=str(index + 1), style=discord.ButtonStyle.primary, custom_id=f"imagine:pick:{job_id}:{index}"
            )
        )
        self.job_id = job_id
        self.index = index

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any
    ) -> "PickButton":
        """Rebuild the button from its custom id (after a restart, too)."""
        return cls(int(match["job"]), int(match["index"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Send the chosen picture privately, at full size."""
        use_locale(interaction)
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await _result_here(interaction, self.job_id)
            message = interaction.message
            if message is None or self.index >= len(message.attachments):
                raise ResultGoneError
            attachment = message.attachments[self.index]
            data = await attachment.read()
            embed = discord.Embed(title=text("result.picked", number=self.index + 1)).set_image(
                url=f"attachment://{attachment.filename}"
            )
            await interaction.followup.send(
                embed=embed, file=discord.File(io.BytesIO(data), attachment.filename), ephemeral=True
            )
        except Exception as exc:
            await explain(interaction, exc)


class EditPromptModal(discord.ui.Modal):
    """The prompt, prefilled, to change before a new job with the same options."""

    def __init__(self, prompt: str, request: ImageRequest) -> None:
        super().__init__(title=text("result.edit_title"))
        self._request = request
        self.prompt: discord.ui.TextInput[EditPromptModal] = discord.ui.TextInput(
            label=text("result.edit_label"), style=discord.TextStyle.paragraph, default=prompt, max_length=4000
        )
        self.add_item(self.prompt)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Run the edited prompt as a new job."""
        use_locale(interaction)
        prompt = clean_prompt(self.prompt.value)
        services_of(interaction).images.catalogue.resolve(prompt, self._request)
        await run_public_job(interaction, prompt, self._request)

    # discord.py's Modal.on_error takes no item, unlike the BaseView method it overrides: mypy blames the override.
    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:  # type: ignore[override]
        """Explain, privately, like everywhere else."""
        await explain(interaction, error)


class RefineModal(discord.ui.Modal):
    """What to change in a result: the change runs as a remix of the result's (first) picture."""

    def __init__(self, job_id: int) -> None:
        super().__init__(title=text("result.refine_title"))
        self._job_id = job_id
        self.change: discord.ui.TextInput[RefineModal] = discord.ui.TextInput(
            label=text("result.refine_label"), style=discord.TextStyle.paragraph, max_length=4000
        )
        self.add_item(self.change)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Acknowledge publicly, then remix the result's picture with the requested change."""
        use_locale(interaction)
        message_id = await defer_publicly(interaction)
        result = await _result_here(interaction, self._job_id)
        message = interaction.message
        pictures = [a for a in message.attachments if is_picture(a)] if message is not None else []
        if message is None or not pictures:
            raise ResultGoneError
        request = replace(
            ImageRequest.from_record(result.options), count=1, inputs_id=None, source_url=message.jump_url
        )
        await run_deferred_job(
            interaction, message_id, clean_prompt(self.change.value), request, [attachment_source(pictures[0])]
        )

    # discord.py's Modal.on_error takes no item, unlike the BaseView method it overrides: mypy blames the override.
    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:  # type: ignore[override]
        """Explain, privately, like everywhere else."""
        await explain(interaction, error)
