"""GuildCache: one load per miss, however many callers miss together, and never a value older than a change."""

import asyncio

import pytest

from bot.core.cache import GuildCache


class Loads:
    """A load that waits until released, counting how often it was started."""

    def __init__(self) -> None:
        self.started = 0
        self.value = "first"
        self.failure: Exception | None = None
        self.release = asyncio.Event()
        self._starts = asyncio.Condition()

    async def __call__(self, guild_id: int) -> str:
        async with self._starts:
            self.started += 1
            self._starts.notify_all()
        value = f"{self.value} for {guild_id}"
        await self.release.wait()
        if self.failure is not None:
            raise self.failure
        return value

    async def wait_until_started(self, count: int = 1) -> None:
        """Until ``count`` loads have begun (callers scheduled before a load's task have all run by then)."""
        async with self._starts:
            await self._starts.wait_for(lambda: self.started >= count)


async def test_callers_that_miss_together_share_one_load() -> None:
    loads = Loads()
    cache = GuildCache(loads)
    waiting = [asyncio.create_task(cache.get(1)) for _ in range(20)]
    await loads.wait_until_started()
    loads.release.set()
    assert await asyncio.gather(*waiting) == ["first for 1"] * 20
    assert await cache.get(1) == "first for 1"
    assert loads.started == 1
    await cache.get(2)
    assert loads.started == 2, "each guild has its own entry"


async def test_a_load_that_raced_a_change_is_returned_but_not_kept() -> None:
    loads = Loads()
    cache = GuildCache(loads)
    early = asyncio.create_task(cache.get(1))
    await loads.wait_until_started()
    cache.changed(1)
    loads.value = "second"
    late = asyncio.create_task(cache.get(1))  # must not join the load that began before the change
    loads.release.set()
    assert await early == "first for 1"
    assert await late == "second for 1"
    assert await cache.get(1) == "second for 1"
    assert loads.started == 2


async def test_a_failed_load_reaches_every_caller_and_the_next_one_tries_again() -> None:
    loads = Loads()
    loads.failure = OSError("disk")
    cache = GuildCache(loads)
    waiting = [asyncio.create_task(cache.get(1)) for _ in range(3)]
    await loads.wait_until_started()
    loads.release.set()
    for outcome in await asyncio.gather(*waiting, return_exceptions=True):
        assert isinstance(outcome, OSError)
    loads.failure = None
    assert await cache.get(1) == "first for 1"
    assert loads.started == 2


async def test_a_caller_giving_up_does_not_cancel_the_load_for_the_others() -> None:
    loads = Loads()
    cache = GuildCache(loads)
    impatient = asyncio.create_task(cache.get(1))
    patient = asyncio.create_task(cache.get(1))
    await loads.wait_until_started()
    impatient.cancel()
    with pytest.raises(asyncio.CancelledError):
        await impatient
    loads.release.set()
    assert await patient == "first for 1"
    assert loads.started == 1
