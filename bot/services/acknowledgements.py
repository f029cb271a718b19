"""Acknowledgements before work: under a burst of commands, each member's "thinking…" goes out first."""

import asyncio
import heapq
from collections.abc import Iterator
from contextlib import contextmanager, suppress

# Past Discord's 3-second deadline an acknowledgement has failed anyway; work never waits longer for one.
MAX_WAIT_SECONDS = 3.0


class AcknowledgementGate:
    """Numbers acknowledgements as they start; :meth:`wait` holds work back until those already under way are sent.

    Interactions that arrive together are parsed one after another on the event loop, and each job's first steps
    (moderation, storage, uploads) would otherwise take turns with the acknowledgements still to be sent. A job
    waits only for acknowledgements that started before it asked, never for later ones, so a steady stream of
    commands cannot starve it. A lone command never waits: its own acknowledgement is done.
    """

    def __init__(self) -> None:
        self._started = 0
        self._under_way: dict[int, None] = {}  # by number, in order of starting: the first is the oldest
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []  # heap: (last number to wait for, id, …)

    @contextmanager
    def acknowledging(self) -> Iterator[None]:
        """Mark the enclosed acknowledgement as under way."""
        self._started += 1
        number = self._started
        self._under_way[number] = None
        try:
            yield
        finally:
            del self._under_way[number]
            self._release_waiters()

    async def wait(self) -> None:
        """Return once every acknowledgement under way now is done (or after :data:`MAX_WAIT_SECONDS`)."""
        if not self._under_way:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (self._started, id(waiter), waiter))
        with suppress(TimeoutError):
            async with asyncio.timeout(MAX_WAIT_SECONDS):
                await waiter

    def _release_waiters(self) -> None:
        oldest = next(iter(self._under_way), self._started + 1)
        while self._waiters and self._waiters[0][0] < oldest:
            _, _, waiter = heapq.heappop(self._waiters)
            if not waiter.done():  # a waiter that gave up is cancelled already
                waiter.set_result(None)
