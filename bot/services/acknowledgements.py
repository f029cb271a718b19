"""Acknowledgements before work: under a burst of commands, every member's "thinking…" goes out first."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager, suppress

# Past Discord's 3-second deadline an acknowledgement has failed anyway; work never waits longer for one.
MAX_WAIT_SECONDS = 3.0


class AcknowledgementGate:
    """Counts acknowledgements under way; :meth:`wait` holds new work back until there are none.

    Interactions that arrive together are parsed one after another on the event loop, and each job's first steps
    (moderation, storage, uploads) would otherwise take turns with the acknowledgements still to be sent, pushing
    the last ones towards Discord's deadline. Waiting costs a lone command nothing: its own acknowledgement is done.
    """

    def __init__(self) -> None:
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextmanager
    def acknowledging(self) -> Iterator[None]:
        """Mark the enclosed acknowledgement as under way."""
        self._pending += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._pending -= 1
            if not self._pending:
                self._idle.set()

    async def wait(self) -> None:
        """Return once no acknowledgement is under way (or after :data:`MAX_WAIT_SECONDS`)."""
        with suppress(TimeoutError):
            async with asyncio.timeout(MAX_WAIT_SECONDS):
                await self._idle.wait()
