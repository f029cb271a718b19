"""Acknowledgements first: under a burst of commands, every member's "thinking…" goes out before other work."""

import asyncio
import gc
import logging
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

    While work is held the cyclic garbage collector waits too, and resumes once the work has run: a full collection
    of a busy bot's heap took 10-16 ms, and every acknowledgement behind it waited for it.
    """

    def __init__(self, quiet_seconds: float = QUIET_SECONDS, max_wait_seconds: float = MAX_WAIT_SECONDS) -> None:
        self._quiet_seconds = quiet_seconds
        self._max_wait_seconds = max_wait_seconds
        self._last_sent = float("-inf")
        self._held: list[Callable[[], object]] = []
        self._first_held_at = 0.0
        self._timer: asyncio.TimerHandle | None = None
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
            self._arm()
        self._held.append(work)

    def flush(self) -> None:
        """Run all held work now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        held, self._held = self._held, []
        try:
            for work in held:
                try:
                    work()
                except Exception:
                    log.exception("Held work failed")  # the rest still runs
        finally:
            self._resume_collector()

    def _pause_collector(self) -> None:
        if gc.isenabled():  # one disabled by someone else stays so
            gc.disable()
            self._collector_paused = True

    def _resume_collector(self) -> None:
        if self._collector_paused:
            self._collector_paused = False
            gc.enable()

    def _arm(self) -> None:
        due = min(self._last_sent + self._quiet_seconds, self._first_held_at + self._max_wait_seconds)
        self._timer = asyncio.get_running_loop().call_at(due, self._check)

    def _check(self) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._last_sent < self._quiet_seconds and now - self._first_held_at < self._max_wait_seconds:
            self._arm()  # more acknowledgements came meanwhile
        else:
            self._timer = None
            self.flush()
