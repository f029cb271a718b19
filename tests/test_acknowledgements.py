"""The gate that holds work back while acknowledgements come in a burst."""

import asyncio
from collections.abc import Callable

from bot.services.acknowledgements import AcknowledgementGate

RUN_WITHIN = 5.0  # far beyond any quiet period used here: a bound for a broken gate, never a synchronisation


def recorder(done: list[str], name: str, finished: asyncio.Event | None = None) -> Callable[[], None]:
    def work() -> None:
        done.append(name)
        if finished is not None:
            finished.set()

    return work


async def test_work_outside_a_burst_runs_at_once() -> None:
    gate = AcknowledgementGate(quiet_seconds=60)
    done: list[str] = []
    gate.after_burst(recorder(done, "before any acknowledgement"))
    gate.sent()  # a lone acknowledgement is no burst
    gate.after_burst(recorder(done, "after a lone one"))
    assert done == ["before any acknowledgement", "after a lone one"]


async def test_work_in_a_burst_waits_for_the_pause_and_keeps_its_order() -> None:
    loop = asyncio.get_running_loop()
    gate = AcknowledgementGate(quiet_seconds=0.05)
    done: list[str] = []
    finished = asyncio.Event()
    gate.sent()
    gate.sent()
    gate.after_burst(recorder(done, "first"))
    gate.sent()
    last_sent = loop.time()
    gate.after_burst(recorder(done, "second", finished))
    assert done == [], "work arriving in a burst is held"

    await asyncio.wait_for(finished.wait(), RUN_WITHIN)
    released = loop.time()
    assert done == ["first", "second"]
    assert released >= last_sent + 0.05 - 1e-6, "released before the acknowledgements had paused"


async def test_a_steady_stream_holds_work_back_no_longer_than_the_limit() -> None:
    loop = asyncio.get_running_loop()
    gate = AcknowledgementGate(quiet_seconds=60, max_wait_seconds=0.1)
    done: list[str] = []
    finished = asyncio.Event()

    def keep_sending() -> None:  # an acknowledgement every 10 ms, far inside the 60 s quiet period
        gate.sent()
        if not finished.is_set():
            loop.call_later(0.01, keep_sending)

    keep_sending()
    keep_sending()
    held_at = loop.time()
    gate.after_burst(recorder(done, "work", finished))
    await asyncio.wait_for(finished.wait(), RUN_WITHIN)
    assert loop.time() >= held_at + 0.1 - 1e-6
    assert done == ["work"]
