"""Per-guild values read once and kept until they change.

One bot process owns the database, and every change to what is cached goes through the service holding the cache,
which drops the guild's entry. A read that raced such a change is returned but not kept.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class GuildCache(Generic[T]):
    """Loads a guild's value on first use with ``load``; :meth:`changed` drops it.

    Callers that miss together share one load: after a restart or a change, a burst of commands from one server
    would otherwise queue one identical database read each.
    """

    def __init__(self, load: Callable[[int], Awaitable[T]]) -> None:
        self._load = load
        self._values: dict[int, T] = {}
        self._versions: dict[int, int] = {}
        self._loading: dict[int, asyncio.Task[T]] = {}

    async def get(self, guild_id: int) -> T:
        """The guild's value, loaded if not known."""
        if guild_id in self._values:
            return self._values[guild_id]
        loading = self._loading.get(guild_id)
        if loading is None:
            loading = asyncio.create_task(self._load_and_keep(guild_id), name=f"guild-cache-load-{guild_id}")
            self._loading[guild_id] = loading
            # Whoever is left waiting sees a failure; if every caller gave up, it is dropped here, not reported.
            loading.add_done_callback(lambda task: task.cancelled() or task.exception())
        # Shielded: one caller giving up must not cancel the load the others are waiting for.
        return await asyncio.shield(loading)

    async def _load_and_keep(self, guild_id: int) -> T:
        version = self._versions.get(guild_id, 0)
        try:
            value = await self._load(guild_id)
        finally:
            if self._loading.get(guild_id) is asyncio.current_task():
                del self._loading[guild_id]
        if self._versions.get(guild_id, 0) == version:  # no change landed while we were reading
            self._values[guild_id] = value
        return value

    def changed(self, guild_id: int) -> None:
        """The guild's value changed: the next :meth:`get` reads it again."""
        self._versions[guild_id] = self._versions.get(guild_id, 0) + 1
        self._values.pop(guild_id, None)
        self._loading.pop(guild_id, None)  # a load under way may predate the change: later callers start anew
