"""Batcher: a lone call goes at once; calls that arrive while requests are under way leave together."""

import asyncio

import pytest

from bot.providers.batching import Batcher
from tests.helpers import first_steps


class Endpoint:
    """Answers each item with its upper-case form once released; records every request."""

    def __init__(self) -> None:
        self.requests: list[list[str]] = []
        self.release = asyncio.Event()
        self.failure: Exception | None = None
        self.short_answer = False
        self._arrivals = asyncio.Condition()

    async def send(self, items: list[str]) -> list[str]:
        async with self._arrivals:
            self.requests.append(items)
            self._arrivals.notify_all()
        await self.release.wait()
        if self.failure is not None:
            raise self.failure
        answers = [item.upper() for item in items]
        return answers[:-1] if self.short_answer else answers

    async def wait_for_requests(self, count: int) -> None:
        async with self._arrivals:
            await self._arrivals.wait_for(lambda: len(self.requests) >= count)


def batcher(endpoint: Endpoint, *, in_flight: int = 2, items: int = 3, weight: int = 100) -> Batcher[str, str]:
    return Batcher(endpoint.send, max_in_flight=in_flight, max_items=items, max_weight=weight, weight=len)


async def test_a_lone_call_goes_at_once_and_gets_its_own_answer() -> None:
    endpoint = Endpoint()
    calls = batcher(endpoint)
    call = asyncio.create_task(calls.submit("cat"))
    await endpoint.wait_for_requests(1)
    assert endpoint.requests == [["cat"]]
    endpoint.release.set()
    assert await call == "CAT"


async def test_calls_arriving_while_requests_are_under_way_leave_together_in_order() -> None:
    endpoint = Endpoint()
    calls = batcher(endpoint, in_flight=2, items=3)
    first = [asyncio.create_task(calls.submit(name)) for name in ("a", "b")]
    await endpoint.wait_for_requests(2)
    later = [asyncio.create_task(calls.submit(name)) for name in ("c", "d", "e", "f", "g")]
    await first_steps()
    endpoint.release.set()
    assert await asyncio.gather(*first, *later) == ["A", "B", "C", "D", "E", "F", "G"]
    assert endpoint.requests == [["a"], ["b"], ["c", "d", "e"], ["f", "g"]]


async def test_a_request_stops_short_of_the_weight_limit_but_a_heavy_item_still_goes() -> None:
    endpoint = Endpoint()
    calls = batcher(endpoint, in_flight=1, items=10, weight=10)
    blocker = asyncio.create_task(calls.submit("x"))
    await endpoint.wait_for_requests(1)
    queued = [asyncio.create_task(calls.submit(item)) for item in ("aaaa", "bbbb", "cccc", "d" * 25, "e")]
    await first_steps()
    endpoint.release.set()
    await asyncio.gather(blocker, *queued)
    assert endpoint.requests == [["x"], ["aaaa", "bbbb"], ["cccc"], ["d" * 25], ["e"]]


@pytest.mark.parametrize("broken", ["failure", "short answer"])
async def test_a_failed_request_fails_its_own_calls_only(broken: str) -> None:
    endpoint = Endpoint()
    calls = batcher(endpoint, in_flight=1, items=5)
    blocker = asyncio.create_task(calls.submit("x"))
    await endpoint.wait_for_requests(1)
    together = [asyncio.create_task(calls.submit(item)) for item in ("a", "b")]
    await first_steps()
    if broken == "failure":
        endpoint.failure = OSError("down")
    else:
        endpoint.short_answer = True
    endpoint.release.set()
    async with asyncio.timeout(10):  # a guard: a call left without an answer would otherwise wait for ever
        outcomes = await asyncio.gather(blocker, *together, return_exceptions=True)
    assert all(isinstance(outcome, OSError if broken == "failure" else ValueError) for outcome in outcomes)
    endpoint.failure, endpoint.short_answer = None, False
    assert await calls.submit("y") == "Y", "the next request is not affected"


async def test_a_caller_who_gave_up_is_left_out_of_the_next_request() -> None:
    endpoint = Endpoint()
    calls = batcher(endpoint, in_flight=1)
    blocker = asyncio.create_task(calls.submit("x"))
    await endpoint.wait_for_requests(1)
    impatient = asyncio.create_task(calls.submit("gone"))
    patient = asyncio.create_task(calls.submit("kept"))
    await first_steps()
    impatient.cancel()
    with pytest.raises(asyncio.CancelledError):
        await impatient
    endpoint.release.set()
    assert await patient == "KEPT"
    await blocker
    assert endpoint.requests == [["x"], ["kept"]]
