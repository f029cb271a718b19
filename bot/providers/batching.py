"""Calls that arrive while others are under way, sent on together as one request (a group commit for an API)."""

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(eq=False)
class _Waiting(Generic[T, R]):
    item: T
    result: asyncio.Future[R] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Batcher(Generic[T, R]):
    """Sends each item through ``send`` at once while fewer than ``max_in_flight`` requests are under way; items
    that arrive meanwhile wait, and leave together when a request finishes (at most ``max_items`` of them, weighing
    at most ``max_weight`` unless a single item weighs more). A lone call is never delayed: only load batches.

    ``send`` answers a list of items with one result per item, in order; if it raises (or answers with another
    number of results, a ``ValueError``), every item of that request fails with the same exception.
    """

    def __init__(
        self,
        send: Callable[[list[T]], Awaitable[Sequence[R]]],
        *,
        max_in_flight: int,
        max_items: int,
        max_weight: int,
        weight: Callable[[T], int],
    ) -> None:
        self._send = send
        self._max_in_flight = max_in_flight
        self._max_items = max_items
        self._max_weight = max_weight
        self._weight = weight
        self._waiting: deque[_Waiting[T, R]] = deque()
        self._in_flight: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        """The result for ``item``, sent alone or with others."""
        waiting: _Waiting[T, R] = _Waiting(item)
        self._waiting.append(waiting)
        self._dispatch()
        return await waiting.result  # a caller that gives up cancels it, and it is left out of the next request

    def _dispatch(self) -> None:
        while len(self._in_flight) < self._max_in_flight and (batch := self._next_batch()):
            request = asyncio.get_running_loop().create_task(self._request(batch), name="batched-request")
            self._in_flight.add(request)
            request.add_done_callback(self._finished)

    def _next_batch(self) -> list[_Waiting[T, R]]:
        batch: list[_Waiting[T, R]] = []
        weight = 0
        while self._waiting and len(batch) < self._max_items:
            waiting = self._waiting[0]
            if waiting.result.done():  # its caller gave up
                self._waiting.popleft()
                continue
            item_weight = self._weight(waiting.item)
            if batch and weight + item_weight > self._max_weight:
                break
            batch.append(self._waiting.popleft())
            weight += item_weight
        return batch

    async def _request(self, batch: list[_Waiting[T, R]]) -> None:
        try:
            results = await self._send([waiting.item for waiting in batch])
            if len(results) != len(batch):
                raise ValueError(f"{len(results)} results for {len(batch)} items")
        except asyncio.CancelledError:
            for waiting in batch:
                waiting.result.cancel()
            raise
        except Exception as exc:
            for waiting in batch:
                if not waiting.result.done():
                    waiting.result.set_exception(exc)
            return
        for waiting, result in zip(batch, results, strict=True):
            if not waiting.result.done():
                waiting.result.set_result(result)

    def _finished(self, request: asyncio.Task[None]) -> None:
        self._in_flight.discard(request)
        self._dispatch()
