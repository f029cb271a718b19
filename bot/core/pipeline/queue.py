"""A fair queue in front of the Images API: first come, first served across members, a global cap, and at most
``per_member`` jobs running for any one member. A member may have one job waiting at a time."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.core.errors import AlreadyQueuedError

log = logging.getLogger(__name__)

# Called on every change of a waiting job's place, which under a burst is hundreds of times per job: it has to be
# cheap, and is plain so that no coroutine is made per call.
PositionCallback = Callable[[int], None]


@dataclass(eq=False)
class _Waiter:
    member: int
    ready: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    on_position: PositionCallback | None = None
    last_position: int = 0


class FairQueue:
    """Admission to the provider. ``slot`` waits for a turn, reporting the waiting position as it changes."""

    def __init__(self, *, capacity: int, per_member: int = 1) -> None:
        self._capacity = capacity
        self._per_member = per_member
        self._running: dict[int, int] = {}
        self._running_total = 0
        self._waiting: list[_Waiter] = []
        self._report_due = False

    @property
    def waiting(self) -> int:
        """How many jobs are waiting for a slot."""
        return len(self._waiting)

    @asynccontextmanager
    async def slot(self, member: int, on_position: PositionCallback | None = None) -> AsyncIterator[None]:
        """Hold a slot for ``member`` for the enclosed work; raises :class:`AlreadyQueuedError` if they already
        have a job waiting. Cancellation while waiting leaves the queue cleanly."""
        if any(w.member == member for w in self._waiting):
            raise AlreadyQueuedError
        waiter = _Waiter(member, on_position=on_position)
        self._waiting.append(waiter)
        self._admit()
        try:
            if not waiter.ready.done():
                self._report(waiter, len(self._waiting))  # the newest waiter is the last in line
                await waiter.ready  # _admit counted us as running before waking us
        except BaseException:
            if waiter in self._waiting:
                self._waiting.remove(waiter)
                self._admit()
            elif waiter.ready.done() and not waiter.ready.cancelled():
                self._finish(member)  # admitted at the moment we were cancelled: give the slot back
            raise
        try:
            yield
        finally:
            self._finish(member)

    def _finish(self, member: int) -> None:
        self._running_total -= 1
        self._running[member] -= 1
        if not self._running[member]:
            del self._running[member]
        self._admit()

    def _admit(self) -> None:
        """Start waiting jobs in arrival order; a job whose member is at their limit lets later members pass."""
        for waiter in list(self._waiting):
            if self._running_total >= self._capacity:
                break
            if self._running.get(waiter.member, 0) < self._per_member:
                self._waiting.remove(waiter)
                self._running_total += 1
                self._running[waiter.member] = self._running.get(waiter.member, 0) + 1
                waiter.ready.set_result(None)
        if self._waiting and not self._report_due:
            # One report covers every admission made before it runs: under a burst, many come in one loop turn.
            self._report_due = True
            asyncio.get_running_loop().call_soon(self._report_positions)

    def _report_positions(self) -> None:
        self._report_due = False
        for position, waiter in enumerate(self._waiting, start=1):
            self._report(waiter, position)

    @staticmethod
    def _report(waiter: _Waiter, position: int) -> None:
        if waiter.on_position is not None and waiter.last_position != position:
            waiter.last_position = position
            try:
                waiter.on_position(position)
            except Exception:
                # Showing the position is a courtesy: a failed message edit must not disturb the queue.
                log.warning("Could not report queue position %d", position, exc_info=True)
