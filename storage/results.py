"""Posted results: what their buttons and /history need."""

import json
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from storage.database import Database


@dataclass(frozen=True)
class PostedResult:
    """One posted result message."""

    generation_id: int
    guild_id: int
    channel_id: int
    message_id: int
    user_id: int
    prompt: str
    options: dict[str, Any]
    created_at: int
    deleted: bool


def _result(row: Any) -> PostedResult:
    return PostedResult(
        generation_id=row["generation_id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        message_id=row["message_id"],
        user_id=row["user_id"],
        prompt=row["prompt"],
        options=json.loads(row["options"]),
        created_at=row["created_at"],
        deleted=row["deleted_at"] is not None,
    )


class ResultsRepository:
    """Records results as they are posted, and finds them again."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def record(
        self,
        generation_id: int,
        *,
        guild_id: int,
        channel_id: int,
        message_id: int,
        user_id: int,
        prompt: str,
        options: dict[str, Any],
        now: int,
    ) -> Awaitable[object]:
        """Remember a result being posted: queued at once, so any read that starts later sees it; await the result
        to know it was committed."""
        return self._db.write(
            "INSERT INTO results (generation_id, guild_id, channel_id, message_id, user_id, prompt, options,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (generation_id) DO NOTHING",
            (generation_id, guild_id, channel_id, message_id, user_id, prompt, json.dumps(options), now),
        )

    async def get(self, generation_id: int) -> PostedResult | None:
        """One result by its generation id."""
        row = await self._db.fetchone("SELECT * FROM results WHERE generation_id = ?", (generation_id,))
        return _result(row) if row else None

    async def mark_deleted(self, generation_id: int, *, now: int) -> None:
        """The result message was deleted."""
        await self._db.write("UPDATE results SET deleted_at = ? WHERE generation_id = ?", (now, generation_id))

    async def history(self, guild_id: int, user_id: int, *, limit: int) -> list[PostedResult]:
        """A member's latest results in a guild, newest first."""
        rows = await self._db.fetchall(
            "SELECT * FROM results WHERE guild_id = ? AND user_id = ? ORDER BY generation_id DESC LIMIT ?",
            (guild_id, user_id, limit),
        )
        return [_result(row) for row in rows]
