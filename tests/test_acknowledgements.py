"""The gate that keeps job work behind acknowledgements still under way."""

import asyncio

import pytest

from bot.services import acknowledgements
from bot.services.acknowledgements import AcknowledgementGate


async def test_work_waits_for_every_acknowledgement_under_way() -> None:
    gate = AcknowledgementGate()
    first_sent, second_sent = asyncio.Event(), asyncio.Event()

    async def acknowledge(sent: asyncio.Event) -> None:
        with gate.acknowledging():
            await sent.wait()

    acks = [asyncio.create_task(acknowledge(first_sent)), asyncio.create_task(acknowledge(second_sent))]
    await asyncio.sleep(0)  # let both acknowledgements begin
    work = asyncio.create_task(gate.wait())

    first_sent.set()
    await acks[0]
    await asyncio.sleep(0)  # the waiter gets its turn, and must still be waiting
    assert not work.done(), "one acknowledgement is still under way"

    second_sent.set()
    await acks[1]
    await asyncio.wait_for(work, timeout=5)


async def test_a_lone_command_never_waits() -> None:
    gate = AcknowledgementGate()
    with gate.acknowledging():
        pass
    await asyncio.wait_for(gate.wait(), timeout=5)


async def test_a_failed_acknowledgement_does_not_hold_work_back() -> None:
    gate = AcknowledgementGate()
    with pytest.raises(ConnectionError), gate.acknowledging():
        raise ConnectionError
    await asyncio.wait_for(gate.wait(), timeout=5)


async def test_acknowledgements_that_start_later_never_hold_work_back() -> None:
    gate = AcknowledgementGate()
    first_sent, later_sent = asyncio.Event(), asyncio.Event()

    async def acknowledge(sent: asyncio.Event) -> None:
        with gate.acknowledging():
            await sent.wait()

    first = asyncio.create_task(acknowledge(first_sent))
    await asyncio.sleep(0)  # let it begin
    work = asyncio.create_task(gate.wait())
    await asyncio.sleep(0)  # the work is now waiting for the first acknowledgement only
    later = asyncio.create_task(acknowledge(later_sent))
    await asyncio.sleep(0)  # a cooperative yield: the later acknowledgement begins while the work still waits

    first_sent.set()
    await first
    await asyncio.wait_for(work, timeout=5)
    assert not later.done(), "the work went ahead while a later acknowledgement was still under way"
    later_sent.set()
    await later


async def test_a_stuck_acknowledgement_holds_work_back_only_until_discords_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(acknowledgements, "MAX_WAIT_SECONDS", 0.01)
    gate = AcknowledgementGate()
    with gate.acknowledging():
        await asyncio.wait_for(gate.wait(), timeout=5)
