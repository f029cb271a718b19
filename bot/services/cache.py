"""Per-guild values read once and kept until they change.

One bot process owns the database, and every change to what is cached goes through the service holding the cache,
which drops the guild's entry. A read that raced such a change is returned but not kept.
"""

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class GuildCache(Generic[T]):
    """Loads a guild's value on first use with ``load``; :meth:`changed` drops it."""

    def __init__(self, load: Callable[[int], Awaitable[T]]) -> None:
        self._load = load
        self._values: dict[int, T] = {}
        self._versions: dict[int, int] = {}

    async def get(self, guild_id: int) -> T:
        """The guild's value, loaded if not known."""
        if guild_id in self._values:
            return self._values[guild_id]
        version = self._versions.get(guild_id, 0)
        value = await self._load(guild_id)
        if self._versions.get(guild_id, 0) == version:  # no change landed while we were reading
            self._values[guild_id] = value
        return value

    def changed(self, guild_id: int) -> None:
        """The guild's value changed: the next :meth:`get` reads it again."""
        self._versions[guild_id] = self._versions.get(guild_id, 0) + 1
        self._values.pop(guild_id, None)
