"""Showing a job's progress in its public placeholder: place in line, then partial previews, then the result."""

import asyncio
import io
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

import discord

from bot.core.pipeline.runner import PreviewCheck
from bot.discord_ui.embeds import RESULT_COLOUR
from bot.discord_ui.texts import text

log = logging.getLogger(__name__)

PREVIEW_STEM = "preview"


# A state waiting to be shown: built only when it is, since a queue reports positions far more often than shown.
_Render = Callable[[], discord.Embed]


@dataclass(frozen=True)
class _Pending:
    render: _Render
    preview: bytes | None = None
    check: PreviewCheck | None = None
    in_line: bool = False
    extension: str = "png"


class InteractionProgress:
    """Edits the interaction's original response, at most once per ``interval`` seconds (Discord rate-limits
    edits) and not before ``first_edit_after`` seconds: a newer state replaces one still waiting to be shown, and
    nothing is shown after :meth:`close`.

    Until the first edit, Discord's own "thinking…" is what the member sees: a job that gets its turn within that
    time never shows a place in line, which under a burst saves most jobs a request to Discord.
    """

    def __init__(self, interaction: discord.Interaction, *, interval: float, first_edit_after: float) -> None:
        self._interaction = interaction
        self._interval = interval
        self._pending: _Pending | None = None
        self._next_edit = asyncio.get_running_loop().time() + first_edit_after
        self._later: asyncio.Task[None] | None = None  # the one task that makes the edits, one after another
        self._closed = False
        self._sending = False
        self._shown_in_line = False
        self._position = 0

    def queued(self, position: int) -> None:
        """Waiting: the job's place in line. A place already waiting to be shown just takes the new number, since
        it is read when the edit is made."""
        self._position = position
        if self._pending is None or not self._pending.in_line:
            self._show(_Pending(self._in_line_embed, in_line=True))

    async def generating(self) -> None:
        """The provider is working on it: worth an edit only after a place in line was shown (otherwise Discord's
        own "thinking…" already says so). A place in line not shown yet never will be."""
        if self._shown_in_line:
            self._show(_Pending(lambda: _embed(text("progress.generating"))))
        elif self._pending is not None and self._pending.in_line:
            self._pending = None

    async def partial(self, preview: bytes, check: PreviewCheck, *, extension: str = "png") -> None:
        """A partial preview (a file of type ``extension``), shown only if ``check`` allows it when its turn comes:
        a preview that a newer state or the result replaces first is never checked, which saves a moderation call
        per job under load."""
        self._show(_Pending(lambda: _preview_embed(extension), preview, check, extension=extension))

    async def close(self) -> None:
        """No more progress: drop what is waiting (a preview still being checked too) and let an edit already sent
        finish before the result is posted, so it cannot land on top of the result."""
        self._closed = True
        later = self._later
        if later is not None:
            if not self._sending:
                later.cancel()
            with suppress(asyncio.CancelledError):
                await later

    def _show(self, pending: _Pending) -> None:
        """Make ``pending`` the state to show next; every edit goes out from a task of its own, so the job never
        waits for one (nor for a preview's check), and :meth:`close` can drop it."""
        if self._closed:
            return
        self._pending = pending
        if self._later is None:
            wait = max(0.0, self._next_edit - asyncio.get_running_loop().time())
            self._later = asyncio.create_task(self._flush_after(wait))

    def _in_line_embed(self) -> discord.Embed:
        return _embed(text("progress.queued", position=self._position))

    async def _flush_after(self, delay: float) -> None:
        await asyncio.sleep(delay)  # pacing edits to Discord's rate limits, not synchronisation
        await self._flush()
        self._later = None
        if self._pending is not None:  # arrived while this flush was under way
            self._show(self._pending)

    async def _flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None or self._closed:
            return
        # The slot is taken now: a state arriving while a preview is checked waits its turn instead of following
        # straight after this edit.
        self._next_edit = asyncio.get_running_loop().time() + self._interval
        if pending.check is not None and not await self._allowed(pending.check):
            return
        if self._closed:  # the result came while the preview was being checked
            return
        name = f"{PREVIEW_STEM}.{pending.extension}"
        files = [discord.File(io.BytesIO(pending.preview), filename=name)] if pending.preview else []
        self._shown_in_line = self._shown_in_line or pending.in_line
        self._sending = True
        try:
            await self._interaction.edit_original_response(content=None, embed=pending.render(), attachments=files)
        except discord.HTTPException as exc:
            log.debug("Progress edit for interaction %s failed: %s", self._interaction.id, exc.status)
        except Exception:
            # Showing progress is a courtesy: a dropped connection (say) must not end the job or later edits.
            log.warning("Progress edit for interaction %s failed", self._interaction.id, exc_info=True)
        finally:
            self._sending = False

    async def _allowed(self, check: PreviewCheck) -> bool:
        """A preview whose check fails in any way is simply not shown: the job itself carries on."""
        try:
            return await check()
        except Exception:
            log.warning("Checking a preview for interaction %s failed", self._interaction.id, exc_info=True)
            return False


def _embed(description: str) -> discord.Embed:
    return discord.Embed(description=description, colour=RESULT_COLOUR)


def _preview_embed(extension: str) -> discord.Embed:
    embed = _embed(text("progress.partial"))
    embed.set_image(url=f"attachment://{PREVIEW_STEM}.{extension}")
    return embed
