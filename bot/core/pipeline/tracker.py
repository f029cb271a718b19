"""Keeping track of running jobs so a shutdown can let them finish instead of cutting them off."""

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from bot.core.errors import ShuttingDownError

log = logging.getLogger(__name__)

# Time for cancelled jobs to tell their members before connections close.
_GOODBYE_SECONDS = 5.0


class JobTracker:
    """The tasks running jobs right now; :meth:`drain` stops taking new ones and winds the rest down."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()
        self._protected: set[asyncio.Task[object]] = set()
        self._cut: set[asyncio.Task[object]] = set()
        self._draining = False

    def protect(self) -> None:
        """The current job has delivered: shutdown waits for the rest of it (its bookkeeping) but never cuts it."""
        task = asyncio.current_task()
        if task in self._tasks:
            self._protected.add(task)

    @contextmanager
    def track(self) -> Iterator[None]:
        """Run the enclosed job as tracked work.

        Refused with :class:`ShuttingDownError` once draining; a job cut short by :meth:`drain` ends with that error
        too (rather than a bare cancellation) so the normal error path can tell the member.
        """
        if self._draining:
            raise ShuttingDownError
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("JobTracker.track() must run inside a task")
        self._tasks.add(task)
        try:
            yield
        except asyncio.CancelledError:
            if task not in self._cut:
                raise
            task.uncancel()
            raise ShuttingDownError from None
        finally:
            self._tasks.discard(task)
            self._protected.discard(task)
            self._cut.discard(task)

    async def drain(self, grace: float) -> int:
        """Refuse new jobs, give running ones ``grace`` seconds, then cancel the rest; returns how many were cut."""
        self._draining = True
        if not self._tasks:
            return 0
        log.info("Waiting up to %.0f s for %d running job(s)", grace, len(self._tasks))
        _, unfinished = await asyncio.wait(set(self._tasks), timeout=grace)
        cut = unfinished - self._protected
        for task in cut:
            self._cut.add(task)
            task.cancel()
        if unfinished:
            await asyncio.wait(unfinished, timeout=_GOODBYE_SECONDS)
        if cut:
            log.warning("Stopped %d job(s) that did not finish within %.0f s", len(cut), grace)
        return len(cut)
