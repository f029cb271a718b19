"""The gate that holds work back while acknowledgements come in a burst."""

import asyncio
import gc
from collections.abc import Callable

import pytest

from bot.services.acknowledgements import AcknowledgementGate

RUN_WITHIN = 5.0  # far beyond any quiet period used here: a bound for a broken gate, never a synchronisation


def recorder(done: list[str], name: str, finished: asyncio.Event | None = None) -> Callable[[], None]:
    def work() -> None:
        done.append(name)
        if finished is not None:
            finished.set()

    return work


async def test_work_after_a_lone_acknowledgement_runs_at_once() -> None:
    gate = AcknowledgementGate(quiet_seconds=60)
    done: list[str] = []
    gate.acknowledged(recorder(done, "lone"))
    assert done == ["lone"]


async def test_work_in_a_burst_waits_for_the_pause_and_keeps_its_order() -> None:
    loop = asyncio.get_running_loop()
    gate = AcknowledgementGate(quiet_seconds=0.05)
    done: list[str] = []
    finished = asyncio.Event()
    gate.acknowledged(recorder(done, "first"))
    gate.acknowledged(recorder(done, "second"))
    gate.acknowledged(recorder(done, "third", finished))
    last_sent = loop.time()
    assert done == ["first"], "work after the first acknowledgement of a burst is held"

    await asyncio.wait_for(finished.wait(), RUN_WITHIN)
    assert done == ["first", "second", "third"]
    assert loop.time() >= last_sent + 0.05 - 1e-6, "released before the acknowledgements had paused"


async def test_held_work_is_released_one_piece_per_turn_of_the_loop_and_the_collector_waits_for_all_of_it() -> None:
    loop = asyncio.get_running_loop()
    gate = AcknowledgementGate(quiet_seconds=0.02)
    done: list[str] = []
    collecting: list[bool] = []
    finished = asyncio.Event()

    def piece(name: str, then: Callable[[], object] | None = None) -> Callable[[], None]:
        def work() -> None:
            done.append(name)
            collecting.append(gc.isenabled())
            if then is not None:
                then()

        return work

    gate.acknowledged(lambda: None)
    gate.acknowledged(piece("a", lambda: loop.call_soon(done.append, "read meanwhile")))
    gate.acknowledged(piece("b"))
    gate.acknowledged(piece("c", finished.set))
    await asyncio.wait_for(finished.wait(), RUN_WITHIN)
    assert done == ["a", "read meanwhile", "b", "c"], "what became ready during one piece waited for all of them"
    assert collecting == [False, False, False]
    assert gc.isenabled()


@pytest.mark.parametrize("on_the_next_turn", [True, False], ids=["between two pieces", "inside a piece"])
async def test_an_acknowledgement_while_held_work_is_released_holds_the_rest_until_the_next_pause(
    on_the_next_turn: bool,
) -> None:
    loop = asyncio.get_running_loop()
    gate = AcknowledgementGate(quiet_seconds=0.05)
    ran_at: dict[str, float] = {}
    finished = asyncio.Event()

    def piece(name: str, then: Callable[[], object] | None = None) -> Callable[[], None]:
        def work() -> None:
            ran_at[name] = loop.time()
            if then is not None:
                then()

        return work

    def acknowledge_late() -> None:
        late = piece("late", finished.set)
        if on_the_next_turn:  # as a gateway event is read
            loop.call_soon(gate.acknowledged, late)
        else:
            gate.acknowledged(late)

    gate.acknowledged(lambda: None)
    gate.acknowledged(piece("a", acknowledge_late))
    gate.acknowledged(piece("b"))
    await asyncio.wait_for(finished.wait(), RUN_WITHIN)
    assert sorted(ran_at, key=ran_at.__getitem__) == ["a", "b", "late"]
    assert ran_at["b"] >= ran_at["a"] + 0.05 - 1e-6, "the rest was released while acknowledgements came again"


async def test_work_held_for_the_limit_runs_all_at_once_while_acknowledgements_keep_coming() -> None:
    loop = asyncio.get_running_loop()
    gate = AcknowledgementGate(quiet_seconds=60, max_wait_seconds=0.05)
    log: list[str] = []
    stop = asyncio.Event()

    def acknowledge_every_turn(n: int = 0) -> None:  # a burst that outlasts the limit
        if stop.is_set():
            return
        log.append(f"acknowledged {n}")
        gate.acknowledged(lambda: (log.append(f"ran {n}"), n == 2 and stop.set()))
        loop.call_soon(acknowledge_every_turn, n + 1)

    acknowledge_every_turn()
    await asyncio.wait_for(stop.wait(), RUN_WITHIN)
    gate.flush()  # the acknowledgements since, if any
    first_held = log.index("ran 0") + 1
    released = log.index("ran 1")
    held = [entry for entry in log[first_held:released] if entry.startswith("acknowledged")]
    assert held, "the limit passed before a second acknowledgement"
    assert log[released : released + len(held)] == [f"ran {n}" for n in range(1, len(held) + 1)], (
        "acknowledgements came between the pieces of work held for the limit"
    )


async def test_each_burst_is_held_and_released_however_the_one_before_it_ended() -> None:
    loop = asyncio.get_running_loop()
    gate = AcknowledgementGate(quiet_seconds=0.02)
    done: list[str] = []
    loop_errors: list[dict] = []
    loop.set_exception_handler(lambda _, context: loop_errors.append(context))

    async def burst(*names: str, flush_after: str | None = None) -> None:
        """Acknowledge one interaction, then one per name at once; return when the last name's work has run."""
        ended = asyncio.Event()
        gate.acknowledged(lambda: None)
        for name in names:

            def work(name: str = name) -> None:
                done.append(name)
                if name == flush_after:
                    loop.call_soon(gate.flush)
                if name == names[-1]:
                    ended.set()

            gate.acknowledged(work)
        assert not ended.is_set(), "work in a burst is held"
        await asyncio.wait_for(ended.wait(), RUN_WITHIN)

    try:
        await burst("a", "b")  # released piece by piece to the end
        await burst("c", "d", "e", flush_after="c")  # flushed while being released
        await burst("f", "g")
    finally:
        loop.set_exception_handler(None)
    assert done == ["a", "b", "c", "d", "e", "f", "g"]
    assert loop_errors == []
    assert gc.isenabled()


async def test_work_flushed_that_acknowledges_another_interaction_keeps_the_collector_waiting_for_it() -> None:
    gate = AcknowledgementGate(quiet_seconds=60)
    collecting: list[bool] = []
    gate.acknowledged(lambda: None)
    try:
        gate.acknowledged(lambda: gate.acknowledged(lambda: collecting.append(gc.isenabled())))
        gate.flush()
        assert not gc.isenabled(), "the collector resumed while work was still held"
        gate.flush()
    finally:
        gc.enable()
    assert collecting == [False]
    assert gc.isenabled()


async def test_a_steady_stream_holds_work_back_no_longer_than_the_limit() -> None:
    loop = asyncio.get_running_loop()
    gate = AcknowledgementGate(quiet_seconds=60, max_wait_seconds=0.1)
    done: list[str] = []
    finished = asyncio.Event()

    def keep_acknowledging() -> None:  # an acknowledgement every 10 ms, far inside the 60 s quiet period
        if finished.is_set():  # one more would be held (the collector paused) past the end of the test
            return
        gate.acknowledged(lambda: None)
        loop.call_later(0.01, keep_acknowledging)

    keep_acknowledging()
    held_at = loop.time()
    gate.acknowledged(recorder(done, "work", finished))
    await asyncio.wait_for(finished.wait(), RUN_WITHIN)
    gate.flush()  # what was acknowledged after the work is still being released
    assert loop.time() >= held_at + 0.1 - 1e-6
    assert done == ["work"]


async def test_flush_runs_held_work_now_and_one_failure_stops_none_of_the_rest() -> None:
    gate = AcknowledgementGate(quiet_seconds=60)
    done: list[str] = []

    def failing() -> None:
        raise RuntimeError("a broken handler")

    gate.acknowledged(recorder(done, "lone"))
    gate.acknowledged(failing)
    gate.acknowledged(recorder(done, "after the failure"))
    assert done == ["lone"]
    gate.flush()
    assert done == ["lone", "after the failure"]
    gate.flush()  # nothing left: nothing runs twice
    assert done == ["lone", "after the failure"]


async def test_the_garbage_collector_waits_while_work_is_held_and_resumes_after_it() -> None:
    gate = AcknowledgementGate(quiet_seconds=60)
    collecting: list[bool] = []
    gate.acknowledged(lambda: None)
    assert gc.isenabled(), "a lone acknowledgement holds nothing"
    try:
        gate.acknowledged(lambda: collecting.append(gc.isenabled()))
        assert not gc.isenabled(), "no collection may stall the rest of the burst"
        gate.flush()
    finally:
        gc.enable()  # whatever the gate did, later tests collect as usual
    assert collecting == [False], "the held work ran before collections resumed"
    assert gc.isenabled()


async def test_a_garbage_collector_disabled_elsewhere_stays_disabled() -> None:
    gate = AcknowledgementGate(quiet_seconds=60)
    gc.disable()
    try:
        gate.acknowledged(lambda: None)
        gate.acknowledged(lambda: None)
        gate.flush()
        assert not gc.isenabled()
    finally:
        gc.enable()
