"""InteractionProgress on its own: pacing, previews checked only when shown, and nothing shown after close."""

import asyncio
from typing import Any, cast

import discord

from bot.progress import InteractionProgress


class RecordingInteraction:
    """Stands in for the interaction: records each edit of the original response (description, files)."""

    id = 1

    def __init__(self) -> None:
        self.edits: list[tuple[str, int]] = []

    async def edit_original_response(self, *, content: None, embed: discord.Embed, attachments: list[Any]) -> None:
        self.edits.append((embed.description or "", len(attachments)))


def progress_for(interaction: RecordingInteraction, interval: float) -> InteractionProgress:
    return InteractionProgress(cast("discord.Interaction", interaction), interval=interval)


async def test_a_preview_still_being_checked_when_the_result_comes_is_never_shown() -> None:
    interaction = RecordingInteraction()
    progress = progress_for(interaction, interval=0.01)
    await progress.queued(1)  # an edit now, so the preview has to wait for its turn
    checking, verdict = asyncio.Event(), asyncio.Event()

    async def slow_check() -> bool:
        checking.set()
        await verdict.wait()
        return True

    await progress.partial(b"preview", slow_check)
    await asyncio.wait_for(checking.wait(), timeout=5)
    await asyncio.wait_for(progress.close(), timeout=5)  # returns without waiting for the check
    verdict.set()
    assert interaction.edits == [("⏳ #1 in line", 0)]


async def test_a_preview_whose_check_fails_is_not_shown_and_the_job_goes_on() -> None:
    interaction = RecordingInteraction()
    progress = progress_for(interaction, interval=0)

    async def broken_check() -> bool:
        raise RuntimeError("the settings could not be read")

    await progress.partial(b"preview", broken_check)
    await progress.queued(1)
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

    preview = asyncio.create_task(progress.partial(b"preview", slow_check))
    await asyncio.wait_for(checking.wait(), timeout=5)
    await progress.queued(2)  # must not be edited in straight after the preview
    verdict.set()
    await preview
    await progress.close()
    assert [files for _, files in interaction.edits] == [1], "the preview only; the newer state was due 60 s later"
