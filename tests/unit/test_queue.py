"""The fair queue: FIFO across members, a global cap, one running job per member, one waiting job per member."""

import asyncio

import pytest

from bot.core.errors import AlreadyQueuedError
from bot.core.pipeline.queue import FairQueue


async def hold(queue: FairQueue, member: int, started: list[int], release: asyncio.Event, positions: list[int]) -> None:
    async with queue.slot(member, positions.append):
        started.append(member)
        await release.wait()


async def settle() -> None:
    """Let every ready task run until it blocks (a cooperative yield, not a wait on time)."""
    for _ in range(5):
        await asyncio.sleep(0)  # a cooperative yield, not a wait on time


async def test_jobs_start_in_arrival_order_within_the_cap() -> None:
    queue = FairQueue(capacity=2)
    started: list[int] = []
    gates = {m: asyncio.Event() for m in (1, 2, 3, 4)}
    positions: dict[int, list[int]] = {m: [] for m in gates}
    tasks = [asyncio.create_task(hold(queue, m, started, gates[m], positions[m])) for m in gates]
    await settle()
    assert started == [1, 2]
    assert positions[3] == [1]
    assert positions[4] == [2]
    gates[1].set()
    await settle()
    assert started == [1, 2, 3]
    assert positions[4] == [2, 1], "the waiting position moves up"
    for gate in gates.values():
        gate.set()
    await asyncio.gather(*tasks)
    assert started == [1, 2, 3, 4]
    assert queue.waiting == 0


async def test_a_member_at_their_limit_lets_others_pass_and_cannot_queue_twice() -> None:
    queue = FairQueue(capacity=3, per_member=1)
    started: list[int] = []
    first, second, other = asyncio.Event(), asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(hold(queue, 7, started, first, []))
    await settle()
    waiting = asyncio.create_task(hold(queue, 7, started, second, []))
    await settle()
    with pytest.raises(AlreadyQueuedError):
        async with queue.slot(7):
            pass
    passing = asyncio.create_task(hold(queue, 8, started, other, []))
    await settle()
    assert started == [7, 8], "member 8 is not held up by member 7's second job"
    first.set()
    await settle()
    assert started == [7, 8, 7]
    for gate in (second, other):
        gate.set()
    await asyncio.gather(running, waiting, passing)


async def test_a_cancelled_waiter_leaves_the_queue() -> None:
    queue = FairQueue(capacity=1)
    started: list[int] = []
    gate = asyncio.Event()
    running = asyncio.create_task(hold(queue, 1, started, gate, []))
    await settle()
    waiting = asyncio.create_task(hold(queue, 2, started, asyncio.Event(), []))
    await settle()
    assert queue.waiting == 1
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert queue.waiting == 0
    gate.set()
    await running
    third = asyncio.Event()
    third.set()
    await hold(queue, 3, started, third, [])
    assert started == [1, 3]


async def test_admissions_in_one_loop_turn_are_reported_as_one_move() -> None:
    queue = FairQueue(capacity=2)
    started: list[int] = []
    gates = {m: asyncio.Event() for m in (1, 2, 3, 4, 5)}
    positions: dict[int, list[int]] = {m: [] for m in gates}
    tasks = [asyncio.create_task(hold(queue, m, started, gates[m], positions[m])) for m in gates]
    await settle()
    assert positions[5] == [3]
    gates[1].set()
    gates[2].set()  # both slots come free in the same turn of the loop
    await settle()
    assert started == [1, 2, 3, 4]
    assert positions[5] == [3, 1], "one report after both admissions, not one per admission"
    for gate in gates.values():
        gate.set()
    await asyncio.gather(*tasks)
