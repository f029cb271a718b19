"""Acknowledgements first: under a burst of commands, every member's "thinking…" goes out before other work."""

import asyncio
import gc
import logging
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)

# Acknowledgements closer together than this make a burst; a pause this long ends it.
QUIET_SECONDS = 0.02
# However long a burst lasts, held work waits no longer than this (a failed acknowledgement's retry must still
# reach Discord inside its 3-second window).
MAX_WAIT_SECONDS = 0.5


class AcknowledgementGate:
    """Holds work back while acknowledgements come in a burst, until they pause for ``quiet_seconds``.

    Interactions that arrive together are read one after another on the event loop, and while other work runs no
    further interaction is read. Building an interaction, dispatching it and starting its job take many times
    longer than acknowledging it, so without the gate the acknowledgements at the end of a burst would wait for all
    of that for every command before them. Work after a lone acknowledgement runs at once; held work runs in the
    order it came, at the latest ``max_wait_seconds`` after the first of it was held.

    After a pause, held work is released one piece per turn of the event loop, so that an interaction arriving
    meanwhile (a sender may pause mid-burst) is read and acknowledged after one piece rather than after a hundred;
    its acknowledgement holds the rest back again until the next pause. Work held for ``max_wait_seconds`` runs
    all at once, whatever comes.

    While work is held the cyclic garbage collector waits too, and resumes once the work has run: a full collection
    of a busy bot's heap took 10-16 ms, and every acknowledgement behind it waited for it.
    """

    def __init__(self, quiet_seconds: float = QUIET_SECONDS, max_wait_seconds: float = MAX_WAIT_SECONDS) -> None:
        self._quiet_seconds = quiet_seconds
        self._max_wait_seconds = max_wait_seconds
        self._last_sent = float("-inf")
        self._held: deque[Callable[[], object]] = deque()
        self._first_held_at = 0.0
        # Either the check for a pause (holding) or the release of the next piece of held work (releasing).
        self._next_step: asyncio.Handle | None = None
        self._releasing = False
        self._collector_paused = False

    def acknowledged(self, work: Callable[[], object]) -> None:
        """Note an acknowledgement just handed to the network; run ``work`` now, or once its burst pauses."""
        now = asyncio.get_running_loop().time()
        in_burst = now - self._last_sent < self._quiet_seconds
        self._last_sent = now
        if not in_burst and not self._held:
            work()
            return
        if not self._held:
            self._first_held_at = now
            self._pause_collector()
        self._held.append(work)
        if self._next_step is None or self._releasing:
            self._hold()

    def flush(self) -> None:
        """Run all held work now."""
        if self._next_step is not None:
            self._next_step.cancel()
            self._next_step = None
        self._releasing = False
        held, self._held = self._held, deque()
        try:
            for work in held:
                _run(work)
        finally:
            if not self._held:  # none of the work acknowledged another interaction, which would be held
                self._resume_collector()

    def _pause_collector(self) -> None:
        if gc.isenabled():  # one disabled by someone else stays so
            gc.disable()
            self._collector_paused = True

    def _resume_collector(self) -> None:
        if self._collector_paused:
            self._collector_paused = False
            gc.enable()

    def _hold(self) -> None:
        if self._next_step is not None:
            self._next_step.cancel()
        self._releasing = False
        due = min(self._last_sent + self._quiet_seconds, self._first_held_at + self._max_wait_seconds)
        self._next_step = asyncio.get_running_loop().call_at(due, self._check)

    def _check(self) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._first_held_at >= self._max_wait_seconds:
            self.flush()
        elif now - self._last_sent < self._quiet_seconds:
            self._hold()  # more acknowledgements came meanwhile
        else:
            self._release_next()

    def _release_next(self) -> None:
        self._releasing = True  # from here on, an acknowledgement holds what is left (see acknowledged)
        try:
            _run(self._held.popleft())
        finally:  # unless an acknowledgement during the piece held the rest again
            if self._releasing and self._held:
                self._next_step = asyncio.get_running_loop().call_soon(self._release_next)
            elif self._releasing:
                self._releasing = False
                self._next_step = None
                self._resume_collector()


def _run(work: Callable[[], object]) -> None:
    try:
        work()
    except Exception:
        log.exception("Held work failed")  # the rest still runs
