"""Acknowledgements before work: under a burst of commands, each member's "thinking…" goes out first."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

# Past Discord's 3-second deadline an acknowledgement has failed anyway; work never waits longer for one.
MAX_WAIT_SECONDS = 3.0


class AcknowledgementGate:
    """Tracks acknowledgements under way; :meth:`wait` holds work back until those already under way are sent.

    Interactions that arrive together are parsed one after another on the event loop, and each job's first steps
    (moderation, storage, uploads) would otherwise take turns with the acknowledgements still to be sent. A job
    waits only for acknowledgements that started before it asked, never for later ones, so a steady stream of
    commands cannot starve it. A lone command never waits: its own acknowledgement is done.
    """

    def __init__(self) -> None:
        self._under_way: set[asyncio.Future[None]] = set()

    @contextmanager
    def acknowledging(self) -> Iterator[None]:
        """Mark the enclosed acknowledgement as under way."""
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._under_way.add(sent)
        try:
            yield
        finally:
            self._under_way.discard(sent)
            sent.set_result(None)

    async def wait(self) -> None:
        """Return once every acknowledgement under way now is done (or after :data:`MAX_WAIT_SECONDS`)."""
        if self._under_way:
            await asyncio.wait(set(self._under_way), timeout=MAX_WAIT_SECONDS)
