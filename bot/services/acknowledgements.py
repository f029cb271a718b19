"""Acknowledgements first: under a burst of commands, every member's "thinking…" goes out before other work."""

import asyncio
from collections.abc import Callable

# Acknowledgements closer together than this make a burst; a pause this long ends it.
QUIET_SECONDS = 0.02
# Past Discord's 3-second deadline an acknowledgement has failed anyway; nothing waits longer for a burst to end.
MAX_WAIT_SECONDS = 3.0


class AcknowledgementGate:
    """Holds work back while acknowledgements come in a burst, until they pause for ``quiet_seconds``.

    Interactions that arrive together are read one after another on the event loop, and while other work runs no
    further interaction is read. Building an interaction, dispatching it and starting its job take many times
    longer than acknowledging it, so without the gate the acknowledgements at the end of a burst would wait for all
    of that for every command before them. Work outside a burst runs at once; held work runs in the order it came,
    at the latest ``max_wait_seconds`` after the first of it was held.
    """

    def __init__(self, quiet_seconds: float = QUIET_SECONDS, max_wait_seconds: float = MAX_WAIT_SECONDS) -> None:
        self._quiet_seconds = quiet_seconds
        self._max_wait_seconds = max_wait_seconds
        self._last_sent = float("-inf")
        self._in_burst = False  # the latest acknowledgement came within the quiet period of the one before
        self._held: list[Callable[[], object]] = []
        self._first_held_at = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def sent(self) -> None:
        """Note an acknowledgement that has just been sent."""
        now = asyncio.get_running_loop().time()
        self._in_burst = now - self._last_sent < self._quiet_seconds
        self._last_sent = now

    def after_burst(self, work: Callable[[], object]) -> None:
        """Run ``work`` now, or once the burst of acknowledgements under way pauses."""
        now = asyncio.get_running_loop().time()
        if not self._held and not (self._in_burst and now - self._last_sent < self._quiet_seconds):
            work()
            return
        if not self._held:
            self._first_held_at = now
            self._arm()
        self._held.append(work)

    def _arm(self) -> None:
        due = min(self._last_sent + self._quiet_seconds, self._first_held_at + self._max_wait_seconds)
        self._timer = asyncio.get_running_loop().call_at(due, self._check)

    def _check(self) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._last_sent < self._quiet_seconds and now - self._first_held_at < self._max_wait_seconds:
            self._arm()  # more acknowledgements came meanwhile
        else:
            self._timer = None
            held, self._held = self._held, []
            for work in held:
                work()
