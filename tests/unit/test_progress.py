"""InteractionProgress on its own: pacing, previews checked only when shown, and nothing shown after close."""

import asyncio
from typing import Any, cast

import aiohttp
import discord

from bot.discord_ui.progress import InteractionProgress


class RecordingInteraction:
    """Stands in for the interaction: records each edit of the original response (description, files)."""

    id = 1

    def __init__(self) -> None:
        self.edits: list[tuple[str, int]] = []
        self.edited = asyncio.Event()

    async def edit_original_response(self, *, content: None, embed: discord.Embed, attachments: list[Any]) -> None:
        self.edits.append((embed.description or "", len(attachments)))
        self.edited.set()


class FailingOnceInteraction(RecordingInteraction):
    """Its first edit fails as a dropped connection does in discord.py (aiohttp's own error, not an HTTPException)."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = asyncio.Event()

    async def edit_original_response(self, *, content: None, embed: discord.Embed, attachments: list[Any]) -> None:
        if not self.failed.is_set():
            self.failed.set()
            raise aiohttp.ClientOSError(104, "Connection reset by peer")
        await super().edit_original_response(content=content, embed=embed, attachments=attachments)


def progress_for(
    interaction: RecordingInteraction, interval: float, first_edit_after: float = 0
) -> InteractionProgress:
    return InteractionProgress(
        cast("discord.Interaction", interaction), interval=interval, first_edit_after=first_edit_after
    )


async def test_a_job_that_starts_before_the_first_edit_is_due_never_shows_a_place_in_line() -> None:
    interaction = RecordingInteraction()
    progress = progress_for(interaction, interval=0, first_edit_after=60)
    progress.queued(3)
    progress.queued(2)
    await progress.generating()  # the turn came: Discord's "thinking…" was all there was to see
    await progress.close()
    assert interaction.edits == []


async def test_a_job_still_waiting_when_the_first_edit_is_due_shows_its_latest_place() -> None:
    interaction = RecordingInteraction()
    progress = progress_for(interaction, interval=60, first_edit_after=0.01)
    progress.queued(3)
    progress.queued(2)
    await asyncio.wait_for(interaction.edited.wait(), timeout=5)
    await progress.generating()  # due a whole interval after the place in line
    await progress.close()
    assert interaction.edits == [("⏳ #2 in line", 0)]


async def test_places_reported_between_two_edits_show_as_one_edit_with_the_latest() -> None:
    interaction = RecordingInteraction()
    progress = progress_for(interaction, interval=0.01)
    progress.queued(5)
    await asyncio.wait_for(interaction.edited.wait(), timeout=5)
    interaction.edited.clear()
    for position in (4, 3, 2):
        progress.queued(position)
    await asyncio.wait_for(interaction.edited.wait(), timeout=5)
    await progress.close()
    assert interaction.edits == [("⏳ #5 in line", 0), ("⏳ #2 in line", 0)]


async def test_an_edit_that_fails_in_any_way_leaves_the_job_and_later_edits_alone() -> None:
    interaction = FailingOnceInteraction()
    progress = progress_for(interaction, interval=0)
    progress.queued(3)
    await asyncio.wait_for(interaction.failed.wait(), timeout=5)
    progress.queued(2)
    await asyncio.wait_for(interaction.edited.wait(), timeout=5)
    await progress.close()  # nothing of the failure comes back to the job
    assert interaction.edits == [("⏳ #2 in line", 0)]


async def test_a_preview_still_being_checked_when_the_result_comes_is_never_shown() -> None:
    interaction = RecordingInteraction()
    progress = progress_for(interaction, interval=0.01)
    progress.queued(1)  # an edit now, so the preview has to wait for its turn
    await asyncio.wait_for(interaction.edited.wait(), timeout=5)
    checking, verdict = asyncio.Event(), asyncio.Event()

    async def slow_check() -> bool:
        checking.set()
        await verdict.wait()
        return True

    # Returns at once: the check runs when the preview's turn comes, in a task of the progress's own.
    await asyncio.wait_for(progress.partial(b"preview", slow_check), timeout=5)
    await asyncio.wait_for(checking.wait(), timeout=5)
    await asyncio.wait_for(progress.close(), timeout=5)  # returns without waiting for the check
    verdict.set()
    assert interaction.edits == [("⏳ #1 in line", 0)]


async def test_a_preview_whose_check_fails_is_not_shown_and_the_job_goes_on() -> None:
    interaction = RecordingInteraction()
    progress = progress_for(interaction, interval=0)

    checked = asyncio.Event()

    async def broken_check() -> bool:
        checked.set()
        raise RuntimeError("the settings could not be read")

    await progress.partial(b"preview", broken_check)
    await asyncio.wait_for(checked.wait(), timeout=5)
    progress.queued(1)
    await asyncio.wait_for(interaction.edited.wait(), timeout=5)
    await progress.close()
    assert interaction.edits == [("⏳ #1 in line", 0)]


async def test_a_state_arriving_during_a_check_waits_its_turn() -> None:
    interaction = RecordingInteraction()
    progress = progress_for(interaction, interval=60)
    checking, verdict = asyncio.Event(), asyncio.Event()

    async def slow_check() -> bool:
        checking.set()
        await verdict.wait()
        return True

    await progress.partial(b"preview", slow_check)
    await asyncio.wait_for(checking.wait(), timeout=5)
    progress.queued(2)  # must not be edited in straight after the preview
    verdict.set()
    await asyncio.wait_for(interaction.edited.wait(), timeout=5)
    await progress.close()
    assert [files for _, files in interaction.edits] == [1], "the preview only; the newer state was due 60 s later"
